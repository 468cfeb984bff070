"""Checks on names and values before anything reaches the store (MLflow's limits)."""

from __future__ import annotations

import math
import numbers
import posixpath
import re

from nbtrack.errors import InvalidParameter

MAX_KEY_LENGTH = 250
MAX_PARAM_VALUE_LENGTH = 6000
MAX_TAG_VALUE_LENGTH = 8000
MAX_EXPERIMENT_NAME_LENGTH = 500
MAX_RUN_NAME_LENGTH = 250
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1
_KEY_RE = re.compile(r"[\w\-. /:]+")
_VALID_KEYS: set[str] = set()  # keys that passed: a training loop logs the same few
_VALID_KEYS_LIMIT = 10_000


def validate_key(key: object, kind: str) -> str:
    """Check a metric, param or tag key; return it.

    Keys may also name files (artifacts, panels), so they must be non-empty, at most 250
    characters of letters, digits and ``_ - . space / :``, and must not change under path
    normalisation (no ``..``, ``//`` or leading/trailing ``/``).
    """
    if type(key) is str and key in _VALID_KEYS:
        return key
    if not isinstance(key, str):
        raise InvalidParameter(
            f"{kind} key must be a string (found {type(key).__name__} {key!r})", key=key
        )
    if not key:
        raise InvalidParameter(f"{kind} key must not be empty", key=key)
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidParameter(
            f"{kind} key must be at most {MAX_KEY_LENGTH} characters "
            f"(found {len(key)}: {key[:40]!r}…); shorten it",
            key=key,
        )
    if not _KEY_RE.fullmatch(key):
        raise InvalidParameter(
            f"{kind} key {key!r} has a character that is not allowed; use only letters, "
            "digits, underscores, dashes, periods, spaces, colons and slashes",
            key=key,
        )
    norm = posixpath.normpath(key)
    if norm != key or norm == "." or norm.startswith(("..", "/")):
        raise InvalidParameter(
            f"{kind} key {key!r} would name another path ({norm!r}); "
            "remove '..', '.', '//' and leading or trailing slashes",
            key=key,
        )
    if type(key) is str:  # a str subclass may compare equal and still differ: not cached
        if len(_VALID_KEYS) >= _VALID_KEYS_LIMIT:
            _VALID_KEYS.clear()
        _VALID_KEYS.add(key)
    return key


def param_value(key: str, value: object) -> str:
    """A param value as the string stored, within MLflow's length limit."""
    text = str(value)
    if len(text) > MAX_PARAM_VALUE_LENGTH:
        raise InvalidParameter(
            f"param {key!r} value must be at most {MAX_PARAM_VALUE_LENGTH} characters "
            f"(found {len(text)}); log long values as an artifact with log_text",
            key=key,
        )
    return text


def tag_value(key: str, value: object) -> str:
    """A tag value as the string stored, within MLflow's length limit."""
    text = str(value)
    if len(text) > MAX_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"tag {key!r} value must be at most {MAX_TAG_VALUE_LENGTH} characters "
            f"(found {len(text)}); log long values as an artifact with log_text",
            key=key,
        )
    return text


def metric_value(key: str, value: object) -> float:
    """A metric value as a float; NaN and ±inf are allowed, strings are not."""
    if isinstance(value, numbers.Number) and not isinstance(value, complex):
        return _float(key, value)
    if hasattr(value, "__float__") and not isinstance(value, (str, bytes)):
        try:
            return _float(key, value)
        except (TypeError, ValueError):
            pass
    raise InvalidParameter(
        f"metric {key!r} value must be a number (found {type(value).__name__} {value!r}); "
        "convert it with float() or log it as a param or tag",
        key=key,
    )


def _float(key: str, value: object) -> float:
    try:
        return float(value)  # type: ignore[arg-type]
    except OverflowError:
        raise InvalidParameter(
            f"metric {key!r} value is too large for a 64-bit float (found {str(value)[:40]}…); "
            "log its logarithm or cap it",
            key=key,
        ) from None


def whole_number(name: str, value: object) -> int:
    """A step or timestamp: a 64-bit whole number (bools and floats with a fraction refused)."""
    integral = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    whole_float = isinstance(value, float) and value.is_integer() and not math.isinf(value)
    if not (integral or whole_float):
        raise InvalidParameter(
            f"{name} must be a whole number (found {type(value).__name__} {value!r})"
        )
    number = int(value)  # type: ignore[call-overload]
    if not INT64_MIN <= number <= INT64_MAX:
        raise InvalidParameter(
            f"{name} must fit in 64 bits, between {INT64_MIN} and {INT64_MAX} (found {number})"
        )
    return number


def experiment_name(name: object) -> str:
    """Check an experiment name: a non-empty string of reasonable length."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(
            f"experiment name must be a non-empty string (found {name!r})", name=name
        )
    if len(name) > MAX_EXPERIMENT_NAME_LENGTH:
        raise InvalidParameter(
            f"experiment name must be at most {MAX_EXPERIMENT_NAME_LENGTH} characters "
            f"(found {len(name)})",
            name=name,
        )
    return name


def run_name(name: object) -> str:
    """Check a run name: a string of at most 250 characters."""
    if not isinstance(name, str):
        raise InvalidParameter(f"run name must be a string (found {name!r})", name=name)
    if len(name) > MAX_RUN_NAME_LENGTH:
        raise InvalidParameter(
            f"run name must be at most {MAX_RUN_NAME_LENGTH} characters (found {len(name)})",
            name=name,
        )
    return name
