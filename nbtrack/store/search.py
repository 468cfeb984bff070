"""MLflow's search filter and ``order_by`` grammar, parsed and compiled to SQL.

A hand-written lexer and recursive-descent parser turn a filter such as
``metrics.rmse < 1 and params.alpha = '0.5'`` into clauses; each clause compiles to a
boolean SQL expression (a membership subquery for metrics, params and tags) with every
user value and key bound as a parameter. Nothing is evaluated row by row in Python.

The semantics are those of MLflow 3.17's SQL store on SQLite (``mlflow/utils/
search_utils.py``, ``mlflow/store/tracking/sqlalchemy_store.py``):

- a quoted value is the raw text between its quotes, lexed with sqlparse's patterns as
  MLflow does; there are no escapes, so a value holding ``'`` is written in ``"…"``;
- ``LIKE`` is case-sensitive. MLflow gets that from ``PRAGMA case_sensitive_like``, which
  is connection-global, so ``x LIKE p`` compiles to ``x GLOB g`` instead, where ``g`` is
  ``p`` with ``%`` → ``*``, ``_`` → ``?`` and the glob metacharacters ``* ? [``
  bracketed. ``ILIKE`` is ``lower(x) LIKE lower(p)`` (ASCII case folding, as in MLflow).
  Neither has an escape character, as in MLflow;
- a NaN metric (stored as 0 with ``is_nan = 1``) matches only ``!=``; ``!=`` never matches
  a run that lacks the key;
- ordering puts missing keys last in both directions, NaN metrics just before them.
"""

from __future__ import annotations

import difflib
import re

from nbtrack import tag_keys
from nbtrack.errors import InvalidFilter
from nbtrack.store.filter_syntax import (
    ALL_OPS,
    LIST_OPS,
    NULL_OPS,
    STR_OPS,
    Clause,
    Parser,
    Source,
    Token,
)
from nbtrack.store.search_fields import (
    EXPERIMENTS,
    MODEL_VERSIONS,
    REGISTERED_MODELS,
    RUNS,
    Field,
    SearchSpec,
    SqlQuery,
)

# -- compiling --------------------------------------------------------------------------


def _resolve(spec: SearchSpec, src: Source, tok: Token) -> tuple[str, str]:
    """Return (entity, key) for a column: ``metrics.a`` -> ("metric", "a")."""
    if len(tok.parts) == 1:
        return "attribute", tok.parts[0][0]
    prefix, rest = tok.parts[0][0], tok.parts[1:]
    if (entity := spec.prefixes.get(prefix)) is None:
        close = difflib.get_close_matches(prefix.lower(), spec.prefixes, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        src.fail(
            tok.pos,
            f"unknown prefix {prefix!r} in {spec.label}",
            f"{hint}prefixes are {', '.join(sorted(spec.prefixes))}",
        )
    key = ".".join(part for part, _ in rest)  # MLflow: all after the first dot is the key
    if len(rest) > 1 and any(quoted for _, quoted in rest):
        src.fail(tok.pos, "a quoted key must be the whole key", f"write {prefix}.`{key}`")
    if not key:
        src.fail(tok.pos, f"empty key in {tok.text!r}", "name the key, e.g. metrics.rmse")
    return entity, key


def _attr(spec: SearchSpec, src: Source, tok: Token, key: str, known: dict[str, Field]) -> Field:
    if key in known:
        return known[key]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    tag = "for a tag write tags.<key>; " if len(tok.parts) == 1 else ""
    names = ", ".join(sorted(name for name in known if name.isidentifier() and name.islower()))
    src.fail(tok.pos, f"unknown attribute {key!r} in {spec.label}", f"{hint}{tag}use {names}")


def _check_op(src: Source, c: Clause, ops: frozenset[str], what: str) -> None:
    if c.op not in ops:
        allowed = ", ".join(op for op in ALL_OPS if op in ops)
        src.fail(c.op_tok.pos, f"{c.op} cannot compare {what}", f"{c.ident.text} takes {allowed}")


def _check_value(src: Source, c: Clause, kind: str) -> None:
    """Check that a clause's value is a "string", a "number" or an "int" (lists pass)."""
    tok, column = c.value_tok, c.ident.text
    if c.op in LIST_OPS:
        return
    if kind == "string" and tok.kind != "string":
        problem, fix = f"{column} compares as a string", f"quote it: {column} {c.op} '{tok.text}'"
        src.fail(tok.pos, f"{problem}, found the number {tok.text}", fix)
    if kind != "string" and tok.kind != "number":
        fix = f"remove the quotes: {column} {c.op} {tok.text[1:-1]}"
        src.fail(tok.pos, f"{column} compares with numbers, found the string {tok.text}", fix)
    if kind == "int" and not isinstance(c.value, int):
        fix = "use an integer (milliseconds since the epoch for times)"
        src.fail(tok.pos, f"{column} compares with whole numbers, found {tok.text}", fix)


def _compare(column: str, op: str, value: object) -> tuple[str, list]:
    """Compare ``column`` with a bound value, with MLflow's string semantics."""
    if isinstance(value, tuple):
        return f"{column} {op} ({', '.join('?' * len(value))})", list(value)
    if op == "LIKE":
        return f"{column} GLOB ?", [_like_to_glob(str(value))]
    if op == "ILIKE":
        return f"lower({column}) LIKE lower(?)", [value]
    return f"{column} {op} ?", [value]


def _like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, no escape) to the equivalent GLOB."""
    table = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(table.get(ch, ch) for ch in pattern)


def _attribute_clause(spec: SearchSpec, src: Source, c: Clause, key: str) -> tuple[str, list]:
    attr = _attr(spec, src, c.ident, key, spec.attrs)
    what = f"the attribute {key!r}"
    if c.op in NULL_OPS:
        src.fail(
            c.op_tok.pos,
            f"{c.op} does not apply to {what}",
            "IS NULL / IS NOT NULL test whether a metric, param or tag is logged",
        )
    _check_op(src, c, attr.ops, what)
    if attr.kind == "id":
        return _compare(attr.column, c.op, _experiment_ids(src, c))
    _check_value(src, c, {"str": "string", "num": "number"}.get(attr.kind, "int"))
    return _compare(attr.column, c.op, c.value)


def _experiment_ids(src: Source, c: Clause) -> int | tuple[int, ...]:
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    if not all(re.fullmatch(r"\d+", str(v)) for v in values):
        src.fail(
            c.value_tok.pos,
            f"experiment_id takes integers, found {c.value_tok.text}",
            "write e.g. experiment_id = '1'",
        )
    ids = tuple(int(str(v)) for v in values)
    return ids if isinstance(c.value, tuple) else ids[0]


# where the driving clause's subquery takes the clauses checked inside it (see _where)
_NESTED = "/* nested */"
# at most this many go inside: SQLite's limit on an expression's depth (1,000) is
# reached sooner inside a subquery, and a filter typed by hand has a few clauses
MAX_NESTED = 8


def _child_clause(
    spec: SearchSpec, src: Source, c: Clause, entity: str, key: str, role: str = "alone"
) -> tuple[str, list]:
    """Compile a clause on a metric, param or tag to a membership test over its rows.

    ``role`` "drive" (with ``spec.member``): the test is ``outer IN (SELECT d.… FROM …)``:
    SQLite reads the key's index range once and looks each match up, which is how a
    filter over many runs starts; the later clauses go inside that subquery (``_NESTED``)
    as "nested" ``EXISTS`` lookups by primary key of the rows it found, so the list it
    builds, and the runs looked up from it, hold only the runs that pass them all.
    "alone": an ``EXISTS`` test of the outer row.
    """
    table, link, ops = spec.children[entity]
    what = entity + "s"
    _check_op(src, c, ops, what)
    alias = "x"
    if spec.member and role == "drive":
        outer, inner = spec.member
        alias = "d"
        head = f"SELECT d.{inner} FROM {table} d WHERE d.key = ?"
        present, absent = f"{outer} IN ({head}", f"{outer} NOT IN ({head}"
        close = f"{_NESTED})"
    else:
        if spec.member and role == "nested":  # the same link, to the driving row
            link = f"{{a}}.{spec.member[1]} = d.{spec.member[1]}"
        head = f"SELECT 1 FROM {table} x WHERE {link.format(a='x')} AND x.key = ?"
        present, absent = f"EXISTS ({head}", f"NOT EXISTS ({head}"
        close = ")"
    if c.op in NULL_OPS:
        # an absent key drives nothing: its NOT IN list is no list of candidates
        return (absent if c.op == "IS NULL" else present) + close.replace(_NESTED, ""), [key]
    if entity == "metric":
        _check_value(src, c, "number")
        # NaN is stored as 0 with is_nan = 1, and satisfies only "!=".
        nan = f"OR {alias}.is_nan = 1" if c.op == "!=" else f"AND {alias}.is_nan = 0"
        value = float(c.value)  # type: ignore[arg-type]
        return f"{present} AND ({alias}.value {c.op} ? {nan}){close}", [key, value]
    _check_value(src, c, "string")
    cond, args = _compare(f"{alias}.value", c.op, c.value)
    return f"{present} AND {cond}{close}", [key, *args]


def _dataset_clause(src: Source, c: Clause, key: str) -> tuple[str, list]:
    """Compile a ``datasets.*`` clause to an EXISTS over the run's dataset inputs."""
    if key not in ("name", "digest", "context"):
        src.fail(
            c.ident.pos,
            f"unknown dataset key {key!r}",
            "use datasets.name, datasets.digest or datasets.context",
        )
    _check_op(src, c, STR_OPS | LIST_OPS, "datasets")
    _check_value(src, c, "string")
    if key == "context":
        cond, args = _compare("t.value", c.op, c.value)
        return (
            "EXISTS (SELECT 1 FROM inputs i JOIN input_tags t ON t.input_uuid = "
            f"i.input_uuid WHERE i.destination_id = r.run_uuid AND t.name = ? AND {cond})",
            [tag_keys.DATASET_CONTEXT, *args],
        )
    cond, args = _compare(f"d.{key}", c.op, c.value)
    return (
        "EXISTS (SELECT 1 FROM inputs i JOIN datasets d ON d.dataset_uuid = i.source_id "
        f"WHERE i.destination_id = r.run_uuid AND {cond})",
        args,
    )


def _where(spec: SearchSpec, filter_string: str | None) -> tuple[str, list]:
    if filter_string is not None and not isinstance(filter_string, str):
        raise InvalidFilter(
            f"filter_string must be a string, found {filter_string!r}", filter_string=filter_string
        )
    src = Source(filter_string or "", "filter")
    parts: list[tuple[str, list]] = []
    nested: list[tuple[str, list]] = []  # child clauses checked inside the driving one
    drive: int | None = None  # the index in parts of the child clause that drives
    role = "drive"  # the first child clause drives the search (see _child_clause)
    for c in Parser(src).clauses():
        entity, key = _resolve(spec, src, c.ident)
        if entity == "attribute":
            parts.append(_attribute_clause(spec, src, c, key))
        elif entity == "dataset":
            parts.append(_dataset_clause(src, c, key))
        else:
            sql, clause_args = _child_clause(spec, src, c, entity, key, role)
            if _NESTED in sql:
                drive = len(parts)
            if role == "nested":
                nested.append((sql, clause_args))
            else:
                parts.append((sql, clause_args))
            role = "nested" if drive is not None and len(nested) < MAX_NESTED else "alone"
    if drive is not None:  # the nested clauses' args follow the driving clause's own
        sql, clause_args = parts[drive]
        inside = "".join(f" AND ({n})" for n, _ in nested)
        inside_args = [a for _, n in nested for a in n]
        parts[drive] = (sql.replace(_NESTED, inside), clause_args + inside_args)
    args = [a for _, part_args in parts for a in part_args]
    return " AND ".join(f"({sql})" for sql, _ in parts) or "1", args


def _order_term(spec: SearchSpec, term: object) -> tuple[str, str, str, Source, Token]:
    """Parse one order_by entry into (entity, key, direction, source, column token)."""
    if not isinstance(term, str):
        raise InvalidFilter(
            f"each order_by entry must be a string like 'metrics.rmse DESC', found {term!r}",
            order_by=term,
        )
    src = Source(term, "order_by")
    parser = Parser(src)
    if (ident := parser.take()).kind != "ident":
        src.fail(ident.pos, "expected a column such as metrics.rmse", found=ident)
    direction = parser.take()
    if (bad := parser.peek() if direction.word in ("ASC", "DESC") else direction).kind != "end":
        src.fail(
            bad.pos,
            f"expected ASC, DESC or the end after {ident.text!r}",
            "write e.g. 'metrics.rmse DESC'",
            bad,
        )
    entity, key = _resolve(spec, src, ident)
    return entity, key, "DESC" if direction.word == "DESC" else "ASC", src, ident


def _child_sort(alias: str, entity: str, direction: str) -> list[str]:
    # Missing keys sort last in both directions; a NaN metric just before them.
    if entity == "metric":
        rank = f"CASE WHEN {alias}.value IS NULL THEN 2 WHEN {alias}.is_nan = 1 THEN 1 ELSE 0 END"
    else:
        rank = f"{alias}.value IS NULL"
    return [rank, f"{alias}.value {direction}"]


def _order(spec: SearchSpec, order_by: list[str] | None) -> tuple[str, list, str]:
    if isinstance(order_by, str):
        raise InvalidFilter(
            f"order_by must be a list of strings, e.g. [{order_by!r}]", order_by=order_by
        )
    joins: list[str] = []
    join_args: list[str] = []
    terms: list[str] = []
    seen: set[str] = set()
    for term in order_by or spec.default_order:
        entity, key, direction, src, ident = _order_term(spec, term)
        if entity == "attribute":
            attr = _attr(spec, src, ident, key, spec.order_attrs)
            identity = attr.column
            sort = [f"{attr.column} IS NULL"] * attr.nullable + [f"{attr.column} {direction}"]
        elif entity in spec.children and spec.order_children:
            alias, (table, link, _) = f"o{len(joins)}", spec.children[entity]
            joins.append(f"LEFT JOIN {table} {alias} ON {link.format(a=alias)} AND {alias}.key = ?")
            join_args.append(key)
            identity, sort = f"{entity}.{key}", _child_sort(alias, entity, direction)
        else:
            src.fail(
                ident.pos,
                f"{spec.label} orders only by attributes",
                f"use one of {', '.join(sorted(spec.order_attrs))}",
                ident,
            )
        if identity in seen:
            src.fail(ident.pos, f"{ident.text!r} is ordered on twice", "keep one entry")
        seen.add(identity)
        terms += sort
    terms += [f"{column} {way}" for column, way in spec.tiebreak if column not in seen]
    return " ".join(joins), join_args, ", ".join(terms)


def _query(spec: SearchSpec, filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    where, where_args = _where(spec, filter_string)
    joins, join_args, order = _order(spec, order_by)
    return SqlQuery(joins, join_args, where, where_args, order)


def runs_query(filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    """Compile a ``search_runs`` filter and order_by over ``runs r``.

    Parameters
    ----------
    filter_string
        Clauses on ``metrics.*``, ``params.*``, ``tags.*``, ``datasets.*`` (name, digest,
        context) and attributes (run_id, run_name, status, artifact_uri, user_id,
        start_time, end_time, created) joined by AND; None or blank for no filter.
    order_by
        Terms like ``"metrics.rmse DESC"`` or ``"params.alpha"`` (ascending by default),
        followed by ``start_time DESC, run_id ASC`` as tie-breakers.

    Returns
    -------
    SqlQuery
        For ``SELECT r.run_uuid FROM runs r {joins} WHERE … AND ({where}) ORDER BY {order}``.

    Raises
    ------
    InvalidFilter
        If either argument does not parse; the message gives the position and the fix.
    """
    return _query(RUNS, filter_string, order_by)


def experiments_query(filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    """Compile a ``search_experiments`` filter and order_by over ``experiments e``.

    Parameters
    ----------
    filter_string
        Clauses on name, experiment_id (=, !=, IN, NOT IN), creation_time,
        last_update_time and ``tags.*`` (also IS NULL / IS NOT NULL), joined by AND.
    order_by
        Attribute terms; by default ``creation_time DESC, experiment_id ASC`` (what
        MLflow's SQL store does), else ``experiment_id DESC`` breaks ties.

    Returns
    -------
    SqlQuery
        ``joins`` is always empty.

    Raises
    ------
    InvalidFilter
        If either argument does not parse.
    """
    return _query(EXPERIMENTS, filter_string, order_by)


def registered_models_query(filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    """Compile a ``search_registered_models`` filter and order_by over ``registered_models rm``.

    Parameters
    ----------
    filter_string
        Clauses on name (=, !=, LIKE, ILIKE, IN, NOT IN) and ``tags.*`` (=, !=, LIKE,
        ILIKE), joined by AND.
    order_by
        Terms on name, timestamp (= last_updated_timestamp) or creation_timestamp;
        ``name ASC`` is the default and the tie-breaker.

    Returns
    -------
    SqlQuery
        ``joins`` is always empty.

    Raises
    ------
    InvalidFilter
        If either argument does not parse.
    """
    return _query(REGISTERED_MODELS, filter_string, order_by)


def model_versions_query(filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    """Compile a ``search_model_versions`` filter and order_by over ``model_versions mv``.

    Parameters
    ----------
    filter_string
        Clauses on name and run_id (=, !=, LIKE, ILIKE, IN, NOT IN), source_path (or
        source), version_number (or version; whole numbers) and ``tags.*``.
    order_by
        Terms on name, version_number, creation_timestamp, last_updated_timestamp; by
        default ``last_updated_timestamp DESC, name ASC, version_number DESC`` as in
        MLflow, with ``name ASC, version DESC`` as tie-breakers.

    Returns
    -------
    SqlQuery
        ``joins`` is always empty.

    Raises
    ------
    InvalidFilter
        If either argument does not parse.
    """
    return _query(MODEL_VERSIONS, filter_string, order_by)
