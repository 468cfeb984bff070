"""MLflow's search filter and ``order_by`` grammar, parsed and compiled to SQL.

A hand-written lexer and recursive-descent parser turn a filter such as
``metrics.rmse < 1 and params.alpha = '0.5'`` into clauses; each clause compiles to a
boolean SQL expression (an ``EXISTS`` subquery for metrics, params and tags) with every
user value bound as a parameter. Nothing is evaluated row by row in Python.

The semantics are MLflow 3.17's SQL store on SQLite (``mlflow/utils/search_utils.py``,
``mlflow/store/tracking/sqlalchemy_store.py``):

- quoted values are the raw text between the quotes (MLflow has no escapes: a value
  holding ``'`` is written in double quotes);
- ``LIKE`` is case-sensitive (MLflow sets ``PRAGMA case_sensitive_like``, which is
  connection-global, so nbtrack instead compiles ``LIKE p`` to ``GLOB`` with ``%`` → ``*``,
  ``_`` → ``?`` and the glob metacharacters ``* ? [`` bracketed); ``ILIKE`` is
  ``lower(x) LIKE lower(p)``; neither has an escape character, as in MLflow;
- a NaN metric (``is_nan = 1``) matches only ``!=``; ``!=`` never matches a missing key;
- ordering puts missing keys last in both directions, NaN just before them.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from typing import NoReturn, Union

from nbtrack.errors import InvalidFilter

Value = Union[str, int, float, tuple[str, ...], None]

NUM_OPS = frozenset({"=", "!=", "<", "<=", ">", ">="})
STR_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
LIST_OPS = frozenset({"IN", "NOT IN"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
DATASET_CONTEXT_TAG = "mlflow.data.context"


@dataclass(frozen=True)
class SqlQuery:
    """The SQL pieces of one search, to splice into the store's SELECT.

    Attributes
    ----------
    joins
        ``LEFT JOIN`` clauses needed by the ORDER BY, placed right after the FROM table.
    join_args
        Parameters of ``joins``, in order.
    where
        A boolean SQL expression (``"1"`` when there is no filter).
    where_args
        Parameters of ``where``, in order.
    order
        The complete ORDER BY list, without the words ``ORDER BY``.
    """

    joins: str
    join_args: list
    where: str
    where_args: list
    order: str


# -- the searchable things ------------------------------------------------------------


@dataclass(frozen=True)
class _Attr:
    column: str
    kind: str = "str"  # "str", "num" (int or float), "int", or "id" (integer given as text)
    ops: frozenset[str] = STR_OPS
    nullable: bool = False


@dataclass(frozen=True)
class _Search:
    label: str  # for messages: "search_runs", ...
    prefixes: dict[str, str]  # written prefix -> entity
    attrs: dict[str, _Attr]  # filterable attributes
    order_attrs: dict[str, _Attr]
    children: dict[str, tuple[str, str]]  # entity -> (table, link with {a} for its alias)
    child_ops: dict[str, frozenset[str]]
    default_order: tuple[str, ...]
    tiebreak: tuple[tuple[str, str], ...]  # (column, direction) appended unless ordered on


_ATTR_PREFIXES = {"attr": "attribute", "attribute": "attribute", "attributes": "attribute"}
_TAG_PREFIXES = {"tag": "tag", "tags": "tag"}
_START = _Attr("r.start_time", "num", NUM_OPS)
_RUN_NAME = _Attr("r.name")
_RUN_ATTRS = {
    "run_id": _Attr("r.run_uuid", ops=STR_OPS | LIST_OPS),
    "run_name": _RUN_NAME, "run name": _RUN_NAME, "Run name": _RUN_NAME, "Run Name": _RUN_NAME,
    "status": _Attr("r.status"),
    "artifact_uri": _Attr("r.artifact_uri"),
    "user_id": _Attr("r.user_id"),
    "start_time": _START, "created": _START, "Created": _START,
    "end_time": _Attr("r.end_time", "num", NUM_OPS, nullable=True),
}  # fmt: skip
RUNS = _Search(
    label="search_runs",
    prefixes={
        **_ATTR_PREFIXES, **_TAG_PREFIXES, "run": "attribute",
        "metric": "metric", "metrics": "metric",
        "param": "param", "params": "param", "parameter": "param", "parameters": "param",
        "dataset": "dataset", "datasets": "dataset",
    },  # fmt: skip
    attrs=_RUN_ATTRS,
    order_attrs=_RUN_ATTRS,
    children={
        "metric": ("latest_metrics", "{a}.run_uuid = r.run_uuid"),
        "param": ("params", "{a}.run_uuid = r.run_uuid"),
        "tag": ("tags", "{a}.run_uuid = r.run_uuid"),
    },
    child_ops={"metric": NUM_OPS | NULL_OPS, "param": STR_OPS | NULL_OPS,
               "tag": STR_OPS | NULL_OPS, "dataset": STR_OPS | LIST_OPS},  # fmt: skip
    default_order=(),
    tiebreak=(("r.start_time", "DESC"), ("r.run_uuid", "ASC")),
)
_EXPERIMENT_ATTRS = {
    "name": _Attr("e.name"),
    "experiment_id": _Attr("e.experiment_id", "id", frozenset({"=", "!="}) | LIST_OPS),
    "creation_time": _Attr("e.creation_time", "int", NUM_OPS),
    "last_update_time": _Attr("e.last_update_time", "int", NUM_OPS),
}
EXPERIMENTS = _Search(
    label="search_experiments",
    prefixes={**_ATTR_PREFIXES, **_TAG_PREFIXES},
    attrs=_EXPERIMENT_ATTRS,
    order_attrs=_EXPERIMENT_ATTRS,
    children={"tag": ("experiment_tags", "{a}.experiment_id = e.experiment_id")},
    child_ops={"tag": STR_OPS | NULL_OPS},
    default_order=("creation_time DESC", "experiment_id ASC"),
    tiebreak=(("e.experiment_id", "DESC"),),
)
_RM_UPDATED = _Attr("rm.last_updated_time", "int", NUM_OPS)
REGISTERED_MODELS = _Search(
    label="search_registered_models",
    prefixes={**_ATTR_PREFIXES, **_TAG_PREFIXES},
    attrs={"name": _Attr("rm.name", ops=STR_OPS | LIST_OPS)},
    order_attrs={
        "name": _Attr("rm.name"),
        "timestamp": _RM_UPDATED,
        "last_updated_timestamp": _RM_UPDATED,
        "creation_timestamp": _Attr("rm.creation_time", "int", NUM_OPS),
    },
    children={"tag": ("registered_model_tags", "{a}.name = rm.name")},
    child_ops={"tag": STR_OPS},
    default_order=(),
    tiebreak=(("rm.name", "ASC"),),
)
_MV_VERSION = _Attr("mv.version", "int", NUM_OPS)
_MV_SOURCE = _Attr("mv.source", nullable=True)
MODEL_VERSIONS = _Search(
    label="search_model_versions",
    prefixes={**_ATTR_PREFIXES, **_TAG_PREFIXES},
    attrs={
        "name": _Attr("mv.name", ops=STR_OPS | LIST_OPS),
        "run_id": _Attr("mv.run_id", ops=STR_OPS | LIST_OPS, nullable=True),
        "source_path": _MV_SOURCE, "source": _MV_SOURCE,
        "version_number": _MV_VERSION, "version": _MV_VERSION,
    },  # fmt: skip
    order_attrs={
        "name": _Attr("mv.name"),
        "version_number": _MV_VERSION, "version": _MV_VERSION,
        "creation_timestamp": _Attr("mv.creation_time", "int", NUM_OPS),
        "last_updated_timestamp": _Attr("mv.last_updated_time", "int", NUM_OPS),
    },  # fmt: skip
    children={"tag": ("model_version_tags", "{a}.name = mv.name AND {a}.version = mv.version")},
    child_ops={"tag": STR_OPS},
    default_order=("last_updated_timestamp DESC", "name ASC", "version_number DESC"),
    tiebreak=(("mv.name", "ASC"), ("mv.version", "DESC")),
)

# -- lexing ---------------------------------------------------------------------------

# The string and number patterns are sqlparse's, which MLflow tokenizes with.
_QUOTED = {
    "'": re.compile(r"'(?:''|\\'|[^'])*'"),
    '"': re.compile(r'"(?:""|\\"|[^"])*"'),
    "`": re.compile(r"`(?:``|[^`])*`"),
}
_NUMBER = re.compile(r"-?(?:\d+(?:\.\d+)?[eE]-?\d+|\d+\.\d*|\.\d+|\d+)(?![\w.])")
_PLUS_EXPONENT = re.compile(r"-?\d+(?:\.\d+)?[eE]\+\d+")
_WORD = re.compile(r"[^\W\d]\w*")
_KEY_WORD = re.compile(r"\w+")
_OP = re.compile(r"<=|>=|!=|<>|==|=|<|>")
_SPACE = re.compile(r"\s*")


@dataclass(frozen=True)
class _Tok:
    kind: str  # "ident", "string", "number", "op", "punct" or "end"
    text: str  # as written
    pos: int
    parts: tuple[tuple[str, bool], ...] = ()  # ident: (text, was quoted) per dotted part

    @property
    def word(self) -> str | None:
        """The upper-cased word if this is one bare word (a keyword candidate)."""
        if self.kind == "ident" and len(self.parts) == 1 and not self.parts[0][1]:
            return self.parts[0][0].upper()
        return None

    def shown(self) -> str:
        return "the end" if self.kind == "end" else repr(self.text)


class _Source:
    """The text being parsed, and the errors that point into it."""

    def __init__(self, text: str, label: str) -> None:
        self.text, self.label = text, label

    def fail(self, pos: int, problem: str, fix: str = "") -> NoReturn:
        message = f'Invalid {self.label} "{self.text}": {problem} at position {pos}'
        key = "filter_string" if self.label == "filter" else "order_by"
        raise InvalidFilter(message + (f"; {fix}" if fix else ""), position=pos, **{key: self.text})

    def tokens(self) -> list[_Tok]:
        toks, pos, text = [], 0, self.text
        while True:
            pos = _SPACE.match(text, pos).end()  # type: ignore[union-attr]
            if pos == len(text):
                return [*toks, _Tok("end", "", pos)]
            tok = self._token(pos)
            toks.append(tok)
            pos += len(tok.text)

    def _token(self, pos: int) -> _Tok:
        text, ch = self.text, self.text[pos]
        if ch in "'\"":
            return _Tok("string", self._quoted(pos), pos)
        if ch == "`" or _WORD.match(text, pos):
            return self._ident(pos)
        if m := _NUMBER.match(text, pos):
            return _Tok("number", m.group(), pos)
        if m := _OP.match(text, pos):
            return _Tok("op", m.group(), pos)
        if ch in "(),":
            return _Tok("punct", ch, pos)
        if m := _PLUS_EXPONENT.match(text, pos):
            self.fail(pos, f"the number {m.group()!r} has a '+' in its exponent, which MLflow "
                      "does not read", f"write it without '+', e.g. {m.group().replace('+', '')}")  # fmt: skip
        if ch.isdigit() or ch in "-.":
            self.fail(pos, f"malformed number starting {text[pos:pos + 12]!r}",
                      "numbers look like 3, -0.5, .5, 2e-3")  # fmt: skip
        self.fail(pos, f"unexpected character {ch!r}",
                  "keys with characters other than letters, digits and _ must be backticked, "
                  "e.g. metrics.`val-loss`")  # fmt: skip

    def _quoted(self, pos: int) -> str:
        m = _QUOTED[self.text[pos]].match(self.text, pos)
        if m is None:
            q = self.text[pos]
            self.fail(pos, f"unterminated {q}-quoted text", f"close it with a matching {q}")
        return m.group()

    def _ident(self, pos: int) -> _Tok:
        start, parts = pos, []
        while True:
            if self.text.startswith(("`", "'", '"'), pos) and (parts or self.text[pos] == "`"):
                raw = self._quoted(pos)
                parts.append((raw[1:-1], True))
            else:
                m = (_KEY_WORD if parts else _WORD).match(self.text, pos)
                if m is None:
                    self.fail(pos, "expected a key right after '.'", "write metrics.rmse, "
                              "or quote keys with spaces or dots: params.`a.b`")  # fmt: skip
                raw = m.group()
                parts.append((raw, False))
            pos += len(raw)
            if not self.text.startswith(".", pos):
                return _Tok("ident", self.text[start:pos], start, tuple(parts))
            pos += 1


# -- parsing --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Clause:
    ident: _Tok
    op: str  # "=", "!=", "<", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", ...
    op_tok: _Tok
    value: Value
    value_tok: _Tok | None  # None for IS [NOT] NULL


class _Parser:
    def __init__(self, source: _Source) -> None:
        self.src = source
        self.toks = source.tokens()
        self.i = 0

    def peek(self) -> _Tok:
        return self.toks[self.i]

    def take(self) -> _Tok:
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def clauses(self) -> list[_Clause]:
        if self.peek().kind == "end":
            return []
        found = [self.clause()]
        while (tok := self.take()).kind != "end":
            if tok.word == "OR":
                self.src.fail(tok.pos, "OR is not supported", "MLflow filters join clauses "
                              "with AND only; run one search per alternative instead")  # fmt: skip
            if tok.word != "AND":
                self.src.fail(tok.pos, f"expected AND or the end of the filter, found "
                              f"{tok.shown()}", "join clauses with AND")  # fmt: skip
            if self.peek().kind == "end":
                self.src.fail(self.peek().pos, "expected a clause after AND, found the end")
            found.append(self.clause())
        return found

    def clause(self) -> _Clause:
        ident = self.take()
        if ident.text == "(":
            self.src.fail(ident.pos, "parentheses are not supported", "a filter is a flat "
                          "list of comparisons joined by AND")  # fmt: skip
        if ident.kind != "ident" or ident.word in {"AND", "OR", "NOT", "IN", "IS", "LIKE"}:
            self.src.fail(ident.pos, f"expected a column such as metrics.rmse, params.alpha "
                          f"or attributes.status, found {ident.shown()}")  # fmt: skip
        op_tok = self.take()
        op = self.operator(ident, op_tok)
        if op in NULL_OPS:
            return _Clause(ident, op, op_tok, None, None)
        if op in LIST_OPS:
            value_tok = self.peek()
            return _Clause(ident, op, op_tok, self.string_list(op), value_tok)
        value_tok = self.take()
        if value_tok.kind == "string":
            return _Clause(ident, op, op_tok, value_tok.text[1:-1], value_tok)
        if value_tok.kind == "number":
            return _Clause(ident, op, op_tok, _number(value_tok.text), value_tok)
        fix = "a list needs IN: run_id IN ('a', 'b')" if value_tok.text == "(" else (
            "compare with a number (metrics.rmse < 0.5) or a quoted string (params.a = 'x')")
        self.src.fail(value_tok.pos, f"expected a value after {op_tok.text!r}, found "
                      f"{value_tok.shown()}", fix)  # fmt: skip

    def operator(self, ident: _Tok, tok: _Tok) -> str:
        if tok.text in ("==", "<>"):
            better = "=" if tok.text == "==" else "!="
            self.src.fail(tok.pos, f"unknown comparison {tok.text!r}", f"write {better!r}")
        if tok.kind == "op":
            return tok.text
        if tok.word in ("LIKE", "ILIKE", "IN"):
            return tok.word
        if tok.word == "NOT" and self.peek().word == "IN":
            self.take()
            return "NOT IN"
        if tok.word == "IS":
            negated = self.peek().word == "NOT" and bool(self.take())
            if (null := self.take()).word != "NULL":
                self.src.fail(null.pos, f"expected NULL after IS, found {null.shown()}")
            return "IS NOT NULL" if negated else "IS NULL"
        self.src.fail(tok.pos, f"expected a comparison after {ident.text!r}, found "
                      f"{tok.shown()}", "use one of =, !=, <, <=, >, >=, LIKE, ILIKE, IN, "
                      "NOT IN, IS NULL, IS NOT NULL")  # fmt: skip

    def string_list(self, op: str) -> tuple[str, ...]:
        example = f"run_id {op} ('a', 'b')"
        if (tok := self.take()).text != "(":
            self.src.fail(tok.pos, f"expected '(' after {op}, found {tok.shown()}", example)
        items: list[str] = []
        while (tok := self.take()).text != ")":
            if tok.kind != "string":
                self.src.fail(tok.pos, f"expected a quoted string in the {op} list, found "
                              f"{tok.shown()}", example)  # fmt: skip
            items.append(tok.text[1:-1])
            if (sep := self.take()).text == ")":
                break
            if sep.text != ",":
                self.src.fail(sep.pos, f"expected ',' or ')' in the {op} list, found "
                              f"{sep.shown()}", example)  # fmt: skip
        if not items:
            self.src.fail(tok.pos, f"the {op} list is empty", "give at least one value")
        return tuple(items)


def _number(text: str) -> int | float:
    if re.fullmatch(r"-?\d+", text):
        value = int(text)
        return value if -(2**63) <= value < 2**63 else float(value)
    return float(text)


# -- compiling ------------------------------------------------------------------------


def _resolve(spec: _Search, src: _Source, tok: _Tok) -> tuple[str, str]:
    """Return (entity, key) for an identifier token: ``metrics.a`` -> ("metric", "a")."""
    if len(tok.parts) == 1:
        return "attribute", tok.parts[0][0]
    prefix, rest = tok.parts[0][0], tok.parts[1:]
    entity = spec.prefixes.get(prefix)
    if entity is None:
        close = difflib.get_close_matches(prefix.lower(), spec.prefixes, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        src.fail(tok.pos, f"unknown prefix {prefix!r} in {spec.label}",
                 f"{hint}prefixes are {', '.join(sorted(spec.prefixes))}")  # fmt: skip
    if len(rest) > 1 and any(quoted for _, quoted in rest):
        src.fail(tok.pos, f"a quoted key must be the whole key in {tok.text!r}",
                 f"write {prefix}.`{'.'.join(part for part, _ in rest)}`")  # fmt: skip
    key = ".".join(part for part, _ in rest)
    if not key:
        src.fail(tok.pos, f"empty key in {tok.text!r}", "name the key, e.g. metrics.rmse")
    return entity, key


def _attr(spec: _Search, src: _Source, tok: _Tok, key: str, known: dict[str, _Attr]) -> _Attr:
    if key in known:
        return known[key]
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    where = "for a tag write tags.<key>; " if len(tok.parts) == 1 else ""
    src.fail(tok.pos, f"unknown attribute {key!r} in {spec.label}",
             f"{hint}{where}attributes are {', '.join(sorted(known))}")  # fmt: skip


def _check_op(src: _Source, c: _Clause, ops: frozenset[str], what: str) -> None:
    if c.op not in ops:
        order = ["=", "!=", "<", "<=", ">", ">=", "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL",
                 "IS NOT NULL"]  # fmt: skip
        src.fail(c.op_tok.pos, f"{c.op} cannot compare {what} ({c.ident.text})",
                 f"{what} take {', '.join(op for op in order if op in ops)}")  # fmt: skip


def _check_value(src: _Source, c: _Clause, kind: str, what: str) -> None:
    """Check that a clause's value is a "string", "number", "int" or "list"."""
    tok = c.value_tok
    assert tok is not None
    if c.op in LIST_OPS or kind == "list":
        return
    if kind == "string" and tok.kind != "string":
        src.fail(tok.pos, f"{what} compare as strings, found the number {tok.text}",
                 f"quote it: {c.ident.text} {c.op} '{tok.text}'")  # fmt: skip
    if kind in ("number", "int") and tok.kind != "number":
        src.fail(tok.pos, f"{what} compare with numbers, found the string {tok.text}",
                 f"remove the quotes: {c.ident.text} {c.op} {tok.text[1:-1]}")  # fmt: skip
    if kind == "int" and not isinstance(c.value, int):
        src.fail(tok.pos, f"{what} compare with whole numbers, found {tok.text}",
                 "use an integer (milliseconds since the epoch for times)")  # fmt: skip


def _compare(column: str, op: str, value: Value) -> tuple[str, list]:
    """SQL comparing ``column`` with a bound value, with MLflow's string semantics."""
    if op in LIST_OPS:
        assert isinstance(value, tuple)
        return f"{column} {op} ({', '.join('?' * len(value))})", list(value)
    if op == "LIKE":
        return f"{column} GLOB ?", [_like_to_glob(str(value))]
    if op == "ILIKE":
        return f"lower({column}) LIKE lower(?)", [value]
    return f"{column} {op} ?", [value]


def _like_to_glob(pattern: str) -> str:
    """Translate a LIKE pattern (``%``, ``_``, no escape) to an equivalent GLOB."""
    table = {"%": "*", "_": "?", "*": "[*]", "?": "[?]", "[": "[[]"}
    return "".join(table.get(ch, ch) for ch in pattern)


def _attribute_clause(spec: _Search, src: _Source, c: _Clause, key: str) -> tuple[str, list]:
    attr = _attr(spec, src, c.ident, key, spec.attrs)
    if c.op in NULL_OPS:
        src.fail(c.op_tok.pos, f"{c.op} does not apply to the attribute {key!r}",
                 "IS NULL / IS NOT NULL test whether a metric, param or tag is logged")  # fmt: skip
    _check_op(src, c, attr.ops, f"the attribute {key!r}")
    value = c.value
    if attr.kind == "id":
        value = _experiment_ids(src, c)
    elif attr.kind == "str":
        _check_value(src, c, "string", f"the attribute {key!r} and other string attributes")
    else:
        _check_value(src, c, "int" if attr.kind == "int" else "number", f"the attribute {key!r}")
    return _compare(attr.column, c.op, value)


def _experiment_ids(src: _Source, c: _Clause) -> Value:
    values = c.value if isinstance(c.value, tuple) else (c.value,)
    try:
        ids = tuple(int(str(v)) for v in values)
    except ValueError:
        assert c.value_tok is not None
        src.fail(c.value_tok.pos, f"experiment_id must be an integer, found {c.value_tok.text}",
                 "write experiment_id = '1'")  # fmt: skip
    return ids if isinstance(c.value, tuple) else ids[0]


def _child_clause(spec: _Search, src: _Source, c: _Clause, entity: str, key: str):
    table, link = spec.children[entity]
    what = {"metric": "metrics", "param": "params", "tag": "tags"}[entity]
    _check_op(src, c, spec.child_ops[entity], what)
    head = f"SELECT 1 FROM {table} x WHERE {link.format(a='x')} AND x.key = ?"
    if c.op in NULL_OPS:
        return f"{'NOT ' if c.op == 'IS NULL' else ''}EXISTS ({head})", [key]
    if entity == "metric":
        _check_value(src, c, "number", what)
        value = float(c.value)  # type: ignore[arg-type]
        # NaN is stored as value 0 with is_nan = 1; it satisfies only "!=".
        nan = "OR x.is_nan = 1" if c.op == "!=" else "AND x.is_nan = 0"
        return f"EXISTS ({head} AND (x.value {c.op} ? {nan}))", [key, value]
    _check_value(src, c, "string", what)
    cond, args = _compare("x.value", c.op, c.value)
    return f"EXISTS ({head} AND {cond})", [key, *args]


def _dataset_clause(src: _Source, c: _Clause, key: str) -> tuple[str, list]:
    if key not in ("name", "digest", "context"):
        src.fail(c.ident.pos, f"unknown dataset key {key!r}", "use datasets.name, "
                 "datasets.digest or datasets.context")  # fmt: skip
    _check_op(src, c, RUNS.child_ops["dataset"], "datasets")
    _check_value(src, c, "string", "datasets")
    head = "SELECT 1 FROM inputs i"
    if key == "context":
        cond, args = _compare("t.value", c.op, c.value)
        return (f"EXISTS ({head} JOIN input_tags t ON t.input_uuid = i.input_uuid "
                f"WHERE i.destination_id = r.run_uuid AND t.name = ? AND {cond})",
                [DATASET_CONTEXT_TAG, *args])  # fmt: skip
    cond, args = _compare(f"d.{key}", c.op, c.value)
    return (f"EXISTS ({head} JOIN datasets d ON d.dataset_uuid = i.source_id "
            f"WHERE i.destination_id = r.run_uuid AND {cond})", args)  # fmt: skip


def _where(spec: _Search, filter_string: str | None) -> tuple[str, list]:
    if filter_string is not None and not isinstance(filter_string, str):
        raise InvalidFilter(f"filter_string must be a string (found "
                            f"{type(filter_string).__name__})", filter_string=filter_string)  # fmt: skip
    src = _Source(filter_string or "", "filter")
    parts, args = [], []
    for c in _Parser(src).clauses():
        entity, key = _resolve(spec, src, c.ident)
        if entity == "attribute":
            sql, clause_args = _attribute_clause(spec, src, c, key)
        elif entity == "dataset":
            sql, clause_args = _dataset_clause(src, c, key)
        else:
            sql, clause_args = _child_clause(spec, src, c, entity, key)
        parts.append(f"({sql})")
        args += clause_args
    return (" AND ".join(parts) or "1"), args


def _order_term(spec: _Search, term: object) -> tuple[str, str, str, bool, _Source, _Tok]:
    if not isinstance(term, str):
        raise InvalidFilter(f"each order_by entry must be a string like 'metrics.rmse DESC' "
                            f"(found {term!r})", order_by=term)  # fmt: skip
    src = _Source(term, "order_by")
    parser = _Parser(src)
    ident = parser.take()
    if ident.kind != "ident":
        src.fail(ident.pos, f"expected a column such as metrics.rmse, found {ident.shown()}")
    direction = parser.take()
    ascending = direction.word != "DESC"
    if direction.kind != "end":
        if direction.word not in ("ASC", "DESC") or parser.peek().kind != "end":
            bad = direction if direction.word not in ("ASC", "DESC") else parser.peek()
            src.fail(bad.pos, f"expected ASC, DESC or the end after {ident.text!r}, found "
                     f"{bad.shown()}", "write e.g. 'metrics.rmse DESC'")  # fmt: skip
    entity, key = _resolve(spec, src, ident)
    return entity, key, "ASC" if ascending else "DESC", ascending, src, ident


def _order(spec: _Search, order_by: list[str] | None) -> tuple[str, list, str]:
    if isinstance(order_by, str):
        raise InvalidFilter(f"order_by must be a list of strings, e.g. [{order_by!r}]",
                            order_by=order_by)  # fmt: skip
    joins, join_args, terms, seen = [], [], [], set()
    for term in order_by or spec.default_order:
        entity, key, direction, _, src, ident = _order_term(spec, term)
        if entity == "attribute":
            attr = _attr(spec, src, ident, key, spec.order_attrs)
            column, missing_last = attr.column, [f"{attr.column} IS NULL"] * attr.nullable
        elif entity in spec.children and spec is RUNS:
            table, link = spec.children[entity]
            column = f"o{len(joins)}.value"
            joins.append(f"LEFT JOIN {table} o{len(joins)} ON "
                         f"{link.format(a=f'o{len(joins)}')} AND o{len(joins)}.key = ?")  # fmt: skip
            join_args.append(key)
            # Missing keys last in both directions; for metrics NaN just before them.
            missing_last = [f"CASE WHEN {column} IS NULL THEN 2 WHEN {column[:-6]}.is_nan = 1 "
                            "THEN 1 ELSE 0 END" if entity == "metric" else f"{column} IS NULL"]  # fmt: skip
            column = f"{entity}:{key}"  # identity for duplicate detection
        else:
            src.fail(ident.pos, f"{spec.label} can order only by attributes, found "
                     f"{ident.text!r}", f"use one of {', '.join(sorted(spec.order_attrs))}")  # fmt: skip
        if column in seen:
            src.fail(ident.pos, f"order_by names {ident.text!r} twice", "keep one entry")
        seen.add(column)
        sql_column = f"o{len(joins) - 1}.value" if ":" in column else column
        terms += [*missing_last, f"{sql_column} {direction}"]
    terms += [f"{col} {direction}" for col, direction in spec.tiebreak if col not in seen]
    return " ".join(joins), join_args, ", ".join(terms)


def _query(spec: _Search, filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    where, where_args = _where(spec, filter_string)
    joins, join_args, order = _order(spec, order_by)
    return SqlQuery(joins, join_args, where, where_args, order)


def runs_query(filter_string: str | None, order_by: list[str] | None) -> SqlQuery:
    """Compile a ``search_runs`` filter and order_by over ``runs r``.

    Parameters
    ----------
    filter_string
        MLflow's filter grammar: clauses on ``metrics.*``, ``params.*``, ``tags.*``,
        ``attributes.*`` (run_id, run_name, status, artifact_uri, user_id, start_time,
        end_time, created) and ``datasets.*`` (name, digest, context), joined by AND.
        None or blank means no filter.
    order_by
        Terms like ``"metrics.rmse DESC"`` or ``"params.alpha"`` (ascending by default).
        ``start_time DESC, run_id ASC`` always follow as tie-breakers.

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
        last_update_time and ``tags.*`` (including IS NULL / IS NOT NULL).
    order_by
        Attribute terms; by default ``creation_time DESC, experiment_id ASC`` as in MLflow's
        SQL store, with ``experiment_id DESC`` as the tie-breaker otherwise.

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
        Clauses on name (=, !=, LIKE, ILIKE, IN, NOT IN) and ``tags.*`` (=, !=, LIKE, ILIKE).
    order_by
        Terms on name, timestamp / last_updated_timestamp or creation_timestamp;
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
        source), version_number (or version; numeric) and ``tags.*``.
    order_by
        Terms on name, version_number, creation_timestamp, last_updated_timestamp; by
        default MLflow's ``last_updated_timestamp DESC, name ASC, version_number DESC``.

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
