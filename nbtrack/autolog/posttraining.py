"""Post-training metrics: a ``sklearn.metrics`` call on a logged model's predictions.

As in MLflow, each fitted model remembers its run; ``predict``, ``predict_proba``,
``predict_log_proba`` and ``transform`` of such a model register the object they return
(by identity) with the name of the variable that held their input; a metric function
called on that very object logs ``<metric>[-<call index>]_<dataset name>`` to the model's
run, and ``metric_info.json`` records the calls. ``model.score(X, y)`` logs
``<EstimatorClass>_score_<dataset name>``.
"""

from __future__ import annotations

import contextlib
import inspect
import sys
import threading
import types
import weakref
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from nbtrack import session
from nbtrack.autolog import state
from nbtrack.autolog.datasets import log_dataset

FALLBACK_DATASET_NAME = "unknown_dataset"
METRIC_INFO_FILE = "metric_info.json"
PREDICTION_METHODS = ("predict", "predict_proba", "predict_log_proba", "transform")
# Builders and helpers of sklearn.metrics that are not metrics (as MLflow excludes them).
_NOT_METRICS = frozenset({"check_scoring", "get_scorer", "make_scorer", "get_scorer_names"})


class Tracker:
    """Which run each logged model, each prediction and each metric call belongs to.

    Only ids and weak references are kept, never the user's data or models.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._models: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._results: dict[int, tuple[weakref.ref[Any], str, str]] = {}
        self._datasets: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
        self._calls: dict[str, dict[str, list[tuple[str, str]]]] = defaultdict(
            lambda: defaultdict(list)
        )

    def register_model(self, model: Any, run_id: str) -> None:
        """Remember that ``model`` was logged to ``run_id``."""
        with contextlib.suppress(TypeError):  # an estimator without weak references or hash
            self._models[model] = run_id

    def run_of(self, model: Any) -> str | None:
        """The run ``model`` was logged to, or None."""
        if not self._models:
            return None
        try:
            return self._models.get(model)
        except TypeError:
            return None

    def dataset_name(self, run_id: str, dataset: Any, frame: types.FrameType | None) -> str:
        """The variable name of a prediction input; ``name-2``… for other objects of that name."""
        name = variable_name(dataset, frame) if dataset is not None else FALLBACK_DATASET_NAME
        with self._lock:
            seen = self._datasets[run_id][name]
            if id(dataset) not in seen:
                seen.append(id(dataset))
            index = seen.index(id(dataset))
        return name if index == 0 else f"{name}-{index + 1}"

    def register_prediction(self, result: Any, run_id: str, dataset_name: str) -> None:
        """Remember which run and dataset a prediction came from (until it is freed)."""
        key = id(result)

        def forget(_: weakref.ref[Any]) -> None:
            self._results.pop(key, None)

        try:
            ref = weakref.ref(result, forget)
        except TypeError:  # lists and other objects without weak references
            return
        self._results[key] = (ref, run_id, dataset_name)

    def find(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[str, str] | None:
        """(run id, dataset name) of the first argument that is a registered prediction."""
        if not self._results:
            return None
        for value in (*args, *kwargs.values()):
            entry = self._results.get(id(value))
            if entry is not None and entry[0]() is value:
                return entry[1], entry[2]
        return None

    def record_call(
        self, run_id: str, metric_name: str, dataset_name: str, command: str
    ) -> tuple[str, dict[str, str]]:
        """The metric key of a new call, and every call of that run for metric_info.json."""
        with self._lock:
            calls = self._calls[run_id][metric_name]
            name = metric_name if not calls else f"{metric_name}-{len(calls) + 1}"
            key = f"{name}_{dataset_name}"
            calls.append((key, command))
            info = sorted(pair for pairs in self._calls[run_id].values() for pair in pairs)
        return key, dict(info)


TRACKER = Tracker()


def variable_name(value: Any, frame: types.FrameType | None) -> str:
    """The name that holds ``value`` in the outermost frame that did not receive it."""
    try:
        while frame is not None:
            if _is_argument(value, frame):
                frame = frame.f_back
                continue
            for name, candidate in frame.f_locals.items():
                if candidate is value:
                    return name
            break
    except Exception:  # frames of exotic callers; the name is only a label
        pass
    return FALLBACK_DATASET_NAME


def _is_argument(value: Any, frame: types.FrameType) -> bool:
    code = frame.f_code
    count = code.co_argcount + code.co_kwonlyargcount
    names = list(code.co_varnames[:count])
    varargs = code.co_varnames[count] if code.co_flags & inspect.CO_VARARGS else ""
    if varargs:
        count += 1
    varkw = code.co_varnames[count] if code.co_flags & inspect.CO_VARKEYWORDS else ""
    local = frame.f_locals
    if any(local.get(n) is value for n in names):
        return True
    if varargs and any(a is value for a in local.get(varargs, ())):
        return True
    return bool(varkw) and any(v is value for v in local.get(varkw, {}).values())


def call_command(
    function: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    frame: Any,
    owner: Any = None,
) -> str:
    """``metric(y_true=y_test, y_pred=<ndarray>)``: how a metric was called (MLflow's form)."""
    import numpy as np

    def show(arg: Any) -> str:
        if arg is None or np.isscalar(arg):
            text = repr(arg[:32] + "...") if isinstance(arg, str) and len(arg) > 32 else repr(arg)
            return text
        name = variable_name(arg, frame)
        return f"<{type(arg).__name__}>" if name == FALLBACK_DATASET_NAME else name

    names = list(inspect.signature(function).parameters)
    if owner is not None:
        names = names[1:]
    parts = [f"{n}={show(a)}" for n, a in zip(names, args, strict=False)]
    parts += [f"{n}={show(a)}" for n, a in kwargs.items()]
    prefix = f"{type(owner).__name__}." if owner is not None else ""
    return f"{prefix}{function.__name__}({', '.join(parts)})"


def metric_names() -> list[str]:
    """The metric functions of ``sklearn.metrics`` that autolog watches."""
    from sklearn import metrics

    return [
        name
        for name in metrics.__all__
        if name not in _NOT_METRICS
        and not name.startswith("plot_")
        and not inspect.isclass(getattr(metrics, name))
        and callable(getattr(metrics, name))
    ]


# -- the patched calls --------------------------------------------------------------------


def patched_predict(original: Callable[..., Any], model: Any, args: tuple, kwargs: dict) -> Any:
    """Run a prediction; register its result when ``model`` was logged by autolog."""
    run_id = TRACKER.run_of(model)
    config = state.active()
    if run_id is None or config is None or not config.log_post_training_metrics:
        return original(model, *args, **kwargs)
    if not state.BUSY.acquire(blocking=False):
        return original(model, *args, **kwargs)
    try:
        result = original(model, *args, **kwargs)
    finally:
        state.BUSY.release()
    try:
        dataset = _first_argument(original, args, kwargs)
        name = TRACKER.dataset_name(run_id, dataset, sys._getframe(1))
        TRACKER.register_prediction(result, run_id, name)
        if config.log_datasets:
            log_dataset(run_id, dataset, None, "eval")
    except Exception as exc:
        state.warn_failure(exc, stacklevel=3)
    return result


def patched_score(original: Callable[..., Any], model: Any, args: tuple, kwargs: dict) -> Any:
    """Run ``model.score``; log it as ``<Class>_score_<dataset>`` when ``model`` was logged."""
    run_id = TRACKER.run_of(model)
    config = state.active()
    if run_id is None or config is None or not config.log_post_training_metrics:
        return original(model, *args, **kwargs)
    if not state.BUSY.acquire(blocking=False):
        return original(model, *args, **kwargs)
    try:
        value = original(model, *args, **kwargs)
    finally:
        state.BUSY.release()
    try:
        frame = sys._getframe(1)
        dataset = _first_argument(original, args, kwargs)
        name = TRACKER.dataset_name(run_id, dataset, frame)
        command = call_command(original, args, kwargs, frame, owner=model)
        _log(run_id, f"{type(model).__name__}_score", name, command, value)
    except Exception as exc:
        state.warn_failure(exc, stacklevel=3)
    return value


def patched_metric(original: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    """Run a metric function; log its value to the run of the prediction it was given."""
    config = state.active()
    if config is None or not state.BUSY.acquire(blocking=False):
        return original(*args, **kwargs)
    try:
        value = original(*args, **kwargs)
    finally:
        state.BUSY.release()
    found = TRACKER.find(args, kwargs)
    if found is None or not _loggable(value):
        return value
    try:
        run_id, dataset_name = found
        command = call_command(original, args, kwargs, sys._getframe(1))
        _log(run_id, original.__name__, dataset_name, command, value)
    except Exception as exc:
        state.warn_failure(exc, stacklevel=3)
    return value


def _log(run_id: str, metric_name: str, dataset_name: str, command: str, value: Any) -> None:
    key, info = TRACKER.record_call(run_id, metric_name, dataset_name, command)
    client = session.client()
    client.log_metric(run_id, key, float(value))
    client.log_dict(run_id, info, METRIC_INFO_FILE)


def _loggable(value: Any) -> bool:
    import numpy as np

    return isinstance(value, (int, float, np.number)) and not isinstance(value, (bool, np.bool_))


def _first_argument(method: Callable[..., Any], args: tuple, kwargs: dict) -> Any:
    if args:
        return args[0]
    names = list(inspect.signature(method).parameters)
    return kwargs.get(names[1]) if len(names) > 1 else None
