"""Checks on registry input, with MLflow's rules, before anything reaches the store.

Registered model names (no ``/`` or ``:``, not a path that resolves elsewhere), version
numbers, stages (case-insensitive, returned in their canonical spelling), aliases
(``latest`` and ``v<digits>`` reserved), tags (MLflow's key rules, values up to 100,000
characters), descriptions and search limits. Each check raises ``InvalidParameter`` with
what was expected, what was found and the fix.
"""

from __future__ import annotations

import os
import re
from typing import Any

from nbtrack import validation
from nbtrack.errors import InvalidParameter

STAGES = ("None", "Staging", "Production", "Archived")
ACTIVE_STAGES = ("Staging", "Production")
LATEST_ALIAS = "latest"
MAX_MODEL_NAME_LENGTH = 256
MAX_ALIAS_LENGTH = 255
MAX_REGISTRY_TAG_VALUE_LENGTH = 100_000

_ALIAS_RE = re.compile(r"[\w\-]+")
_VERSION_ALIAS_RE = re.compile(r"[vV]\d+")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


def model_name(name: object, what: str = "name") -> str:
    """Check a registered model name with MLflow's rules; return it."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(
            f"registered model {what} must be a non-empty string (found {name!r})", name=name
        )
    if "/" in name or ":" in name:
        raise InvalidParameter(
            f"registered model {what} {name!r} contains '/' or ':', which model URIs use as "
            "separators; choose a name without them",
            name=name,
        )
    if _CONTROL_RE.search(name):
        raise InvalidParameter(
            f"registered model {what} {name!r} contains a control character; remove it",
            name=name,
        )
    norm = os.path.normpath(name)
    if norm != name or norm in (".", "..") or name.startswith(".."):
        raise InvalidParameter(
            f"registered model {what} {name!r} would name another folder ({norm!r}); "
            "choose a name that is not '.', '..' and has no leading '..'",
            name=name,
        )
    if len(name) > MAX_MODEL_NAME_LENGTH:
        raise InvalidParameter(
            f"registered model {what} must be at most {MAX_MODEL_NAME_LENGTH} characters "
            f"(found {len(name)})",
            name=name,
        )
    return name


def version_number(version: object) -> int:
    """A version as given (1, "1") checked and turned into its number."""
    if isinstance(version, bool) or not isinstance(version, (int, str)):
        raise InvalidParameter(
            f"version must be a whole number such as 1 or '1' (found {version!r})",
            version=version,
        )
    text = str(version).strip()
    if not text.isdigit() or int(text) < 1:
        raise InvalidParameter(
            f"version must be a whole number from 1 up, such as 1 or '1' (found {version!r}); "
            "to use an alias call get_model_version_by_alias",
            version=version,
        )
    return int(text)


def stage_name(stage: object) -> str:
    """A stage in its canonical spelling (input is case-insensitive)."""
    canonical = {s.lower(): s for s in STAGES}
    if not isinstance(stage, str) or stage.lower() not in canonical:
        raise InvalidParameter(
            f"stage must be one of {', '.join(STAGES)} (found {stage!r})", stage=stage
        )
    return canonical[stage.lower()]


def alias_name(alias: object, reserved_ok: bool = False) -> str:
    """Check an alias with MLflow's rules (``latest`` and ``v<digits>`` are reserved)."""
    if not isinstance(alias, str) or not alias:
        raise InvalidParameter(f"alias must be a non-empty string (found {alias!r})", alias=alias)
    if not _ALIAS_RE.fullmatch(alias):
        raise InvalidParameter(
            f"alias {alias!r} may only contain letters, digits, underscores and dashes",
            alias=alias,
        )
    if len(alias) > MAX_ALIAS_LENGTH:
        raise InvalidParameter(
            f"alias must be at most {MAX_ALIAS_LENGTH} characters (found {len(alias)})",
            alias=alias,
        )
    if not reserved_ok and alias.lower() == LATEST_ALIAS:
        raise InvalidParameter(
            f"alias {alias!r} is reserved: 'latest' always means the highest version; "
            "choose another alias such as 'champion'",
            alias=alias,
        )
    if not reserved_ok and _VERSION_ALIAS_RE.fullmatch(alias):
        raise InvalidParameter(
            f"alias {alias!r} is reserved: v<number> names a version; choose another alias",
            alias=alias,
        )
    return alias


def registry_tags(tags: dict[str, Any] | None, kind: str) -> dict[str, str]:
    """Check a dict of registry tags; return it with string values."""
    if tags is None:
        return {}
    if not isinstance(tags, dict):
        raise InvalidParameter(f"{kind} tags must be a dict (found {type(tags).__name__})")
    return {validation.validate_key(k, kind): tag_value(k, v) for k, v in tags.items()}


def tag_value(key: str, value: object) -> str:
    """A registry tag value as stored, within MLflow's limit (100,000 characters)."""
    text = str(value)
    if len(text) > MAX_REGISTRY_TAG_VALUE_LENGTH:
        raise InvalidParameter(
            f"tag {key!r} value must be at most {MAX_REGISTRY_TAG_VALUE_LENGTH} characters "
            f"(found {len(text)})",
            key=key,
        )
    return text


def description(description: object) -> str | None:
    """Check a description: a string or None."""
    if description is not None and not isinstance(description, str):
        raise InvalidParameter(
            f"description must be a string or None (found {type(description).__name__})"
        )
    return description


def max_results(max_results: object, threshold: int) -> int:
    """Check a search's max_results: a whole number from 1 to ``threshold``."""
    if isinstance(max_results, bool) or not isinstance(max_results, int) or max_results < 1:
        raise InvalidParameter(
            f"max_results must be a positive whole number (found {max_results!r})"
        )
    if max_results > threshold:
        raise InvalidParameter(
            f"max_results must be at most {threshold} (found {max_results}); page through "
            "the results with page_token instead"
        )
    return max_results
