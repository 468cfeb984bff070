"""A model server's start, made short: skops without scikit-learn's census of estimators.

``import skops.io`` builds skops's default allow-list, and one part of it, the names of all
scikit-learn estimator classes, comes from ``sklearn.utils.all_estimators()``: that walks the
scikit-learn package and imports every public module of it (pytest among them): some 400
modules, and a walk of the package's files, that a server would pay for before its first
answer. A server process imports skops with that census deferred (:func:`import_skops`), so
scikit-learn's modules load as the model's classes (and skops's own code) need them.

What loads is unchanged. nbtrack loads a type of a skops file when skops trusts it by
default or :func:`nbtrack.models.trust.is_trusted` does (or the caller vouches for it), and
every class of the census passes ``is_trusted`` (``tests/test_serving_startup.py`` checks all
of them), so skops's copy of the census adds nothing. Should a future scikit-learn add an
estimator that ``is_trusted`` refuses, :func:`load_model` takes the census then, and loads
again trusting the refused types that are in it, as skops's default list would have.

Only a server process does this, before it loads anything: in a notebook, code of the user's
may rely on skops's full default list.

The start also runs without the cyclic garbage collector (:func:`collector_paused`): the
imports create some 160,000 objects that live as long as the process, and the collector
would walk them again and again (about a tenth of the import time).
"""

from __future__ import annotations

import contextlib
import gc
import sys
from collections.abc import Iterator
from typing import Any

from nbtrack.errors import UnsafeModelError


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector; after, freeze what was built, and resume it.

    Frozen objects (``gc.freeze``) are never collected nor walked again, so collections
    while serving stay as short as in a small process. The start leaves about a thousand
    unreachable objects behind for good: less than a full collection would cost in time.
    """
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def import_skops() -> None:
    """Import ``skops.io`` with the census of scikit-learn estimators left out of its list.

    Does nothing when skops or scikit-learn is not installed (the model's loader reports
    it) or ``skops.io`` is imported already.
    """
    if "skops.io" in sys.modules:
        return
    try:
        import sklearn.utils
    except ImportError:
        return
    census = getattr(sklearn.utils, "all_estimators", None)
    if census is None:
        return
    sklearn.utils.all_estimators = _no_estimators
    try:
        import skops.io  # its default allow-list is built now
    except ImportError:
        return
    except Exception:  # a skops that needs the census: import it the usual way
        for name in [name for name in sys.modules if name.startswith("skops.io")]:
            del sys.modules[name]
        sklearn.utils.all_estimators = census
        import skops.io  # noqa: F401
    finally:
        sklearn.utils.all_estimators = census


def load_model(model_uri: str) -> Any:
    """``nbtrack.pyfunc.load_model(model_uri)``, trusting what skops's full list would.

    Raises
    ------
    NbtrackError
        As ``nbtrack.pyfunc.load_model``: the URI names no model, or the model holds types
        that nbtrack and skops's default list both refuse.
    """
    from nbtrack.pyfunc import load_model as pyfunc_load_model

    try:
        return pyfunc_load_model(model_uri)
    except UnsafeModelError as error:
        estimators = set(estimator_type_names()) if error.types else set()
        trusted = [name for name in error.types or () if name in estimators]
        if not trusted:
            raise
        return pyfunc_load_model(model_uri, trusted_types=trusted)


def estimator_type_names() -> list[str]:
    """The census skops trusts by default: every scikit-learn estimator class, by name."""
    from sklearn.utils import all_estimators

    names = (f"{cls.__module__}.{cls.__name__}" for _, cls in all_estimators())
    return [name for name in names if name.startswith("sklearn.")]


def _no_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
    return []
