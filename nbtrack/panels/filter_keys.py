"""Filters typed with bare keys: ``rmse < 56`` read as ``metrics.rmse < 56``.

MLflow's grammar wants ``metrics.``, ``params.`` or ``tags.`` before a key; people
coming from pandas or W&B type the key alone. A bare key that names exactly one metric,
param or tag of the runs shown is rewritten with its prefix; one that names several (or
none) is answered with the candidates. Quoted strings and prefixed keys are never touched.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from nbtrack.store.search_fields import RUNS

GROUP_PREFIX = {"metrics": "metrics", "params": "params", "tags": "tags"}
_TOKEN = re.compile(r"""'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*"|`[^`]*`|(?P<key>[A-Za-z_][\w.\-]*)""")
_OPERATOR = re.compile(r"\s*(<=|>=|!=|<>|=|<|>|(?i:not\s+)?(?i:i?like|in)\b|(?i:is)\b)")
ATTRIBUTE_KEYS = ("run_name", "status", "run_id", "user_id", "start_time", "end_time")
_WORDS = frozenset({"and", "or", "not", "like", "ilike", "in", "is", "null", "true", "false"})


@dataclass(frozen=True)
class Resolution:
    """What became of a filter's bare keys."""

    filter: str  # the filter with every resolvable bare key prefixed
    resolved: tuple[tuple[str, str], ...]  # (bare key, prefixed key) pairs rewritten
    problems: tuple[str, ...]  # one sentence per bare key that could not be resolved


def _is_bare(key: str) -> bool:
    head = key.split(".", 1)[0]
    if "." in key and head in RUNS.prefixes:
        return False
    return key not in RUNS.attrs and key.lower() not in _WORDS


def resolve(text: str, keys: Mapping[str, Sequence[str]]) -> Resolution:
    """Prefix the bare keys of ``text`` that name one metric, param or tag in ``keys``.

    Parameters
    ----------
    text
        A filter as typed.
    keys
        The keys of the runs shown, by group (``"metrics"``, ``"params"``, ``"tags"``).
    """
    parts: list[str] = []
    resolved: list[tuple[str, str]] = []
    problems: list[str] = []
    end = 0
    for match in _TOKEN.finditer(text):
        key = match.group("key")
        if key is None or not _is_bare(key) or not _OPERATOR.match(text, match.end()):
            continue
        groups = [g for g in GROUP_PREFIX if key in keys.get(g, ())]
        parts.append(text[end : match.start()])
        end = match.end()
        if len(groups) == 1:
            full = f"{GROUP_PREFIX[groups[0]]}.{_quoted(key)}"
            resolved.append((key, full))
            parts.append(full)
            continue
        parts.append(key)
        if groups:
            choices = " or ".join(f"{GROUP_PREFIX[g]}.{_quoted(key)}" for g in groups)
            problems.append(f"{key!r} is the name of several keys: write {choices}")
        else:
            problems.append(_unknown(key, keys))
    parts.append(text[end:])
    return Resolution("".join(parts), tuple(resolved), tuple(problems))


def completions(keys: Mapping[str, Sequence[str]]) -> list[str]:
    """Every key a filter can name over these runs, prefixed: ``metrics.rmse``, ….

    Metrics, params, tags (keys that need it backticked), then the run attributes.
    """
    found = [f"{GROUP_PREFIX[g]}.{_quoted(k)}" for g in GROUP_PREFIX for k in keys.get(g, ())]
    return found + [f"attributes.{name}" for name in ATTRIBUTE_KEYS]


def _quoted(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_]\w*", key) else f"`{key}`"


def _unknown(key: str, keys: Mapping[str, Sequence[str]]) -> str:
    every = {f"{GROUP_PREFIX[g]}.{_quoted(k)}": k for g in GROUP_PREFIX for k in keys.get(g, ())}
    close = difflib.get_close_matches(key, list(every.values()), n=3, cutoff=0.6)
    hint = [full for full, k in every.items() if k in close]
    if hint:
        return f"no key named {key!r}; did you mean {' or '.join(hint)}?"
    sample = ", ".join(list(every)[:6])
    return f"no metric, param or tag named {key!r} in these runs" + (
        f"; keys here include {sample}" if sample else ""
    )


def placeholder(metric: tuple[str, object] | None, param: tuple[str, object] | None) -> str:
    """An example filter built from a real metric and param of the runs shown."""
    parts = []
    if metric is not None:
        key, value = metric
        bound = value if isinstance(value, (int, float)) else 1
        parts.append(f"metrics.{_quoted(key)} < {float(f'{bound:.3g}'):g}")
    if param is not None:
        key, value = param
        parts.append(f"params.{_quoted(key)} = '{value}'")
    example = " and ".join(parts) or "attributes.status = 'FINISHED'"
    return f"Filter: {example}"
