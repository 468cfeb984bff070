"""The lexer and parser of MLflow's search filter grammar (``clause AND clause …``).

Strings and numbers are lexed with sqlparse's patterns, as MLflow lexes them; errors
point at the character where the text stopped making sense. ``nbtrack.store.search`` compiles
the parsed clauses to SQL.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NoReturn

from nbtrack.errors import InvalidFilter

Value = str | int | float | tuple[str, ...] | None

_NUMERIC = ("=", "!=", "<", "<=", ">", ">=")
ALL_OPS = (*_NUMERIC, "LIKE", "ILIKE", "IN", "NOT IN", "IS NULL", "IS NOT NULL")  # message order
NUM_OPS = frozenset(_NUMERIC)
STR_OPS = frozenset({"=", "!=", "LIKE", "ILIKE"})
LIST_OPS = frozenset({"IN", "NOT IN"})
NULL_OPS = frozenset({"IS NULL", "IS NOT NULL"})
# SQLite's limits (expression depth 1000, LIKE patterns of 50,000 bytes) stay out of reach:
MAX_CLAUSES = 500
MAX_VALUE_LENGTH = 8000  # the longest value nbtrack stores (a tag's)
MAX_LIST_ITEMS = 10_000  # all IN lists together (SQLite binds at most 32,766 values)


# -- lexing -----------------------------------------------------------------------------

# Strings and numbers use sqlparse's patterns, which MLflow tokenizes with: so '5e-1' and
# '.5' are numbers and '1e+3' is not; '' and \' do not end a string (and stay in it).
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
class Token:
    """One lexed token, with where it stands in the text."""

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

    @property
    def end(self) -> int:
        """Position just after the token."""
        return self.pos + len(self.text)

    def shown(self) -> str:
        """The token as an error message quotes it."""
        return "the end" if self.kind == "end" else repr(self.text)


class Source:
    """The text being parsed, its tokens, and the errors that point into it."""

    def __init__(self, text: str, label: str) -> None:
        self.text, self.label = text, label
        if (bad := _lone_surrogate(text)) is not None:
            self.text = text.encode("utf-8", "backslashreplace").decode()  # printable
            self.fail(bad, "a lone surrogate character is not valid Unicode", "remove it")

    def fail(self, pos: int, problem: str, fix: str = "", found: Token | None = None) -> NoReturn:
        """Raise InvalidFilter pointing at ``pos``."""
        message = f'Invalid {self.label} "{self.text}": {problem} at position {pos}'
        message += f" (found {found.shown()})" if found else ""
        message += f"; {fix}" if fix else ""
        key = "filter_string" if self.label == "filter" else "order_by"
        raise InvalidFilter(message, position=pos, **{key: self.text})

    def tokens(self) -> list[Token]:
        """Lex the whole text (ending with an ``end`` token)."""
        toks: list[Token] = []
        pos = 0
        while (pos := _SPACE.match(self.text, pos).end()) < len(self.text):  # type: ignore[union-attr]
            after_key = bool(toks) and toks[-1].kind == "ident" and toks[-1].end == pos
            toks.append(tok := self._token(pos, after_key))
            pos += len(tok.text)
        return [*toks, Token("end", "", pos)]

    def _token(self, pos: int, after_key: bool) -> Token:
        text, ch = self.text, self.text[pos]
        if ch in "'\"":
            return Token("string", self._quoted(pos), pos)
        if ch == "`" or _WORD.match(text, pos):
            return self._ident(pos)
        for kind, pattern in (("number", _NUMBER), ("op", _OP)):
            if m := pattern.match(text, pos):
                return Token(kind, m.group(), pos)
        if ch in "(),":
            return Token("punct", ch, pos)
        if m := _PLUS_EXPONENT.match(text, pos):
            self.fail(
                pos,
                f"the number {m.group()!r} has a '+' in its exponent, which MLflow does not read",
                f"write {m.group().replace('+', '')}",
            )
        if re.match(r"-?\.?\d", text[pos : pos + 3]):
            self.fail(
                pos,
                f"malformed number {text[pos:].split()[0]!r}",
                "numbers look like 3, -0.5, .5 or 2e-3",
            )
        key_fix = "keys holding characters other than letters, digits and _ must be backticked, "
        key_fix += "e.g. metrics.`val-loss`"
        self.fail(pos, f"unexpected character {ch!r}", key_fix if after_key else "remove it")

    def _quoted(self, pos: int) -> str:
        if m := _QUOTED[self.text[pos]].match(self.text, pos):
            return m.group()
        quote = self.text[pos]
        self.fail(
            pos,
            f"unbalanced quote: the text opened with {quote} is never closed",
            f"close it with a matching {quote}",
        )

    def _ident(self, pos: int) -> Token:
        """Lex ``word(.part)*``; parts after the first may be backticked or quoted."""
        start, parts = pos, list[tuple[str, bool]]()
        while True:
            if self.text.startswith(("`", "'", '"'), pos) and (parts or self.text[pos] == "`"):
                raw = self._quoted(pos)
                parts.append((raw[1:-1], True))
            elif m := (_KEY_WORD if parts else _WORD).match(self.text, pos):
                raw = m.group()
                parts.append((raw, False))
            else:
                self.fail(
                    pos,
                    "expected a key right after '.'",
                    "write e.g. metrics.rmse; quote keys holding spaces or dots: params.`a.b`",
                )
            pos += len(raw)
            if not self.text.startswith(".", pos):
                return Token("ident", self.text[start:pos], start, tuple(parts))
            pos += 1


# -- parsing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Clause:
    """One ``column operator value`` comparison."""

    ident: Token
    op: str  # one of ALL_OPS
    op_tok: Token
    value: Value
    value_tok: Token  # the operator itself for IS [NOT] NULL


class Parser:
    """``filter := clause (AND clause)*``; ``clause := column operator value``."""

    def __init__(self, source: Source) -> None:
        self.src, self.toks, self.i = source, source.tokens(), 0

    def peek(self) -> Token:
        """The next token, not consumed."""
        return self.toks[self.i]

    def take(self) -> Token:
        """Consume and return the next token."""
        tok = self.toks[self.i]
        self.i = min(self.i + 1, len(self.toks) - 1)
        return tok

    def clauses(self) -> list[Clause]:
        """Parse the whole filter."""
        if self.peek().kind == "end":
            return []
        found = [self.clause()]
        while (tok := self.take()).kind != "end":
            if len(found) == MAX_CLAUSES:
                self.src.fail(
                    tok.pos,
                    f"a filter holds at most {MAX_CLAUSES} clauses",
                    "narrow the search in steps, or filter the returned frame with pandas",
                )
            if tok.word == "OR":
                self.src.fail(
                    tok.pos,
                    "OR is not supported",
                    "MLflow filters join clauses "
                    "with AND only; run one search per alternative instead",
                )
            if tok.word != "AND":
                self.src.fail(
                    tok.pos, "expected AND or the end of the filter", "join clauses with AND", tok
                )
            found.append(self.clause())
        items = sum(len(c.value) for c in found if isinstance(c.value, tuple))
        if items > MAX_LIST_ITEMS:
            self.src.fail(
                0,
                f"the IN lists hold {items} values, more than {MAX_LIST_ITEMS}",
                "search in several steps",
            )
        return found

    def clause(self) -> Clause:
        """Parse one comparison."""
        ident = self.take()
        if ident.text == "(":
            self.src.fail(
                ident.pos,
                "parentheses are not supported",
                "a filter is a flat list of comparisons joined by AND",
            )
        if ident.kind != "ident" or ident.word in ("AND", "OR", "NOT", "IN", "IS", "LIKE"):
            self.src.fail(
                ident.pos,
                "expected a column such as metrics.rmse, params.alpha or attributes.status",
                found=ident,
            )
        op_tok = self.take()
        op = self.operator(ident, op_tok)
        if op in NULL_OPS:
            return Clause(ident, op, op_tok, None, op_tok)
        if op in LIST_OPS:
            return Clause(ident, op, op_tok, self.string_list(op), self.peek())
        value_tok = self.take()
        if value_tok.kind == "string" and len(value_tok.text) - 2 > MAX_VALUE_LENGTH:
            self.src.fail(
                value_tok.pos,
                f"the value is longer than {MAX_VALUE_LENGTH} characters (the longest value "
                "a run holds)",
                "shorten it",
            )
        if value_tok.kind == "string":
            return Clause(ident, op, op_tok, value_tok.text[1:-1], value_tok)
        if value_tok.kind == "number":
            return Clause(ident, op, op_tok, parse_number(value_tok.text), value_tok)
        fix = (
            "a list needs IN: run_id IN ('a', 'b')"
            if value_tok.text == "("
            else "compare with a number (metrics.rmse < 0.5) or a quoted string (params.a = 'x')"
        )
        self.src.fail(value_tok.pos, f"expected a value after {op_tok.text!r}", fix, value_tok)

    def operator(self, ident: Token, tok: Token) -> str:
        """Parse a comparison operator (``NOT IN``, ``IS NOT NULL`` included)."""
        if tok.text in ("==", "<>"):
            self.src.fail(
                tok.pos,
                f"unknown comparison {tok.text!r}",
                f"write {'=' if tok.text == '==' else '!='}",
            )
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
                self.src.fail(
                    null.pos, "expected NULL after IS", "write IS NULL or IS NOT NULL", null
                )
            return "IS NOT NULL" if negated else "IS NULL"
        self.src.fail(
            tok.pos,
            f"expected a comparison after {ident.text!r}",
            f"use one of {', '.join(ALL_OPS)}",
            tok,
        )

    def string_list(self, op: str) -> tuple[str, ...]:
        """Parse ``('a', 'b')`` after IN / NOT IN."""
        example, items = f"write e.g. run_id {op} ('a', 'b')", []
        if (tok := self.take()).text != "(":
            self.src.fail(tok.pos, f"expected '(' after {op}", example, tok)
        while (tok := self.take()).text != ")":
            if tok.kind != "string":
                self.src.fail(tok.pos, f"expected a quoted string in the {op} list", example, tok)
            items.append(tok.text[1:-1])
            if (sep := self.take()).text == ")":
                break
            if sep.text != ",":
                self.src.fail(sep.pos, f"expected ',' or ')' in the {op} list", example, sep)
        if not items:
            self.src.fail(tok.pos, f"the {op} list is empty", "give at least one value")
        return tuple(items)


def parse_number(text: str) -> int | float:
    """A lexed number as int when whole and in range, else float."""
    # int() refuses more than 4300 digits; a whole number of 20 digits is already too big
    if re.fullmatch(r"-?\d{1,19}", text) and abs(value := int(text)) < 2**63:
        return value
    return float(text)


def _lone_surrogate(text: str) -> int | None:
    """The position of the first lone surrogate in ``text``, or None."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as error:
        return error.start
    return None
