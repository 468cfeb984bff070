"""``nbtrack.autolog()``: autologging for every supported library that is installed.

Today that is scikit-learn (``nbtrack.autolog.sklearn``). The package is itself callable:
importing ``nbtrack.autolog.sklearn`` makes ``nbtrack.autolog`` name this package, and
``nbtrack.autolog(...)`` must keep working as MLflow's ``mlflow.autolog(...)`` does.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

FLAVORS = ("sklearn",)
_FLAVOR_PACKAGES = {"sklearn": "sklearn"}


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, Any] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Enable (or disable) autologging for every supported library that is installed.

    Parameters
    ----------
    log_input_examples, log_model_signatures, log_models, log_datasets
        What to log with each fitted model, as in ``nbtrack.sklearn.autolog``.
    disable
        Undo every patch.
    exclusive
        Do not log into runs the user started.
    disable_for_unsupported_versions
        Stay off for library releases nbtrack was not tested with.
    silent
        Do not warn when autologging fails.
    extra_tags
        Tags set on every run autolog creates.
    exclude_flavors
        Libraries to leave alone, such as ``["sklearn"]``.
    """
    excluded = set(exclude_flavors or ())
    for flavor in FLAVORS:
        if importlib.util.find_spec(_FLAVOR_PACKAGES[flavor]) is None:
            continue
        module = importlib.import_module(f"nbtrack.autolog.{flavor}")
        module.autolog(
            log_input_examples=log_input_examples,
            log_model_signatures=log_model_signatures,
            log_models=log_models,
            log_datasets=log_datasets,
            disable=disable or flavor in excluded,
            exclusive=exclusive,
            disable_for_unsupported_versions=disable_for_unsupported_versions,
            silent=silent,
            extra_tags=extra_tags,
        )


def configs() -> dict[str, dict[str, Any] | None]:
    """The autolog arguments in force for each library already patched or imported."""
    result: dict[str, dict[str, Any] | None] = {}
    for flavor in FLAVORS:
        module = sys.modules.get(f"nbtrack.autolog.{flavor}")
        result[flavor] = module.current_config() if module is not None else None
    return result


@contextmanager
def enabled(on: bool = True) -> Iterator[None]:
    """Turn autologging on (with defaults, unless already on) or off for a block.

    Afterwards each library is put back as it was, with the arguments it had.
    """
    before = configs()
    if on:
        for flavor in FLAVORS:
            if before[flavor] is None and importlib.util.find_spec(_FLAVOR_PACKAGES[flavor]):
                importlib.import_module(f"nbtrack.autolog.{flavor}").autolog()
    else:
        for flavor in FLAVORS:
            module = sys.modules.get(f"nbtrack.autolog.{flavor}")
            if module is not None:
                module.autolog(disable=True)
    try:
        yield
    finally:
        for flavor, arguments in before.items():
            module = sys.modules.get(f"nbtrack.autolog.{flavor}")
            if module is None:
                continue
            if arguments is None:
                module.autolog(disable=True)
            elif module.current_config() != arguments:
                module.autolog(**arguments)


class _CallableModule(types.ModuleType):
    """The ``nbtrack.autolog`` package, callable as ``nbtrack.autolog(...)``."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        autolog(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
