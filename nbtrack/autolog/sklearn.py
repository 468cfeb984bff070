"""``nbtrack.sklearn.autolog``: every scikit-learn fit recorded as a run, as MLflow does.

Patching wraps, on the class that defines it, ``fit``, ``fit_transform`` and ``fit_predict``
(to log), ``predict``, ``predict_proba``, ``predict_log_proba``, ``transform`` and ``score``
(for post-training metrics) of every ``BaseEstimator`` subclass already imported, and a
``BaseEstimator.__init_subclass__`` hook patches classes created later (third-party
estimators, classes defined in a notebook). ``sklearn.metrics`` functions are wrapped for
post-training metrics, and the cross-validation helpers run with logging paused (their
per-fold fits are not runs), as in MLflow. Every original is kept; ``autolog(disable=True)``
puts each one back.

As in MLflow, the data-preparation estimators (``sklearn.preprocessing``, ``impute``,
``feature_extraction``, ``feature_selection``, ``ColumnTransformer``) are not logged on their
own; inside a Pipeline they are part of the logged fit.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from nbtrack.autolog import state
from nbtrack.autolog.fitting import FitSession
from nbtrack.autolog.patches import Patches
from nbtrack.autolog.posttraining import (
    PREDICTION_METHODS,
    metric_names,
    patched_metric,
    patched_predict,
    patched_score,
)
from nbtrack.errors import InvalidParameter

FIT_METHODS = ("fit", "fit_transform", "fit_predict")
NOT_LOGGED_MODULES = (
    "sklearn.preprocessing",
    "sklearn.impute",
    "sklearn.feature_extraction",
    "sklearn.feature_selection",
)
NOT_LOGGED_CLASSES = frozenset({"sklearn.compose._column_transformer.ColumnTransformer"})
CROSS_VALIDATION_FUNCTIONS = (
    "cross_validate",
    "cross_val_predict",
    "cross_val_score",
    "learning_curve",
    "permutation_test_score",
    "validation_curve",
)
SUPPORTED_VERSIONS = ((1, 3), (1, 9))  # scikit-learn releases this patch is tested with

_patches = Patches()


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    max_tuning_runs: int | None = None,
    log_post_training_metrics: bool = True,
    serialization_format: str = "skops",
    registered_model_name: str | None = None,
    pos_label: Any = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or disable) and configure autologging of scikit-learn estimators.

    Each outermost ``fit``, ``fit_transform`` or ``fit_predict`` logs to the active run, or
    to a run of its own when none is active: params (``get_params(deep=True)``), the
    ``estimator_name`` and ``estimator_class`` tags, training metrics (``training_*``),
    the training data as a dataset input, and the model with its signature. A search
    (GridSearchCV, RandomizedSearchCV, the halving searches) also logs ``best_<param>``
    params, ``best_cv_score``, the ``best_estimator`` model, ``cv_results.csv`` and one
    child run per candidate. A ``sklearn.metrics`` function called on a logged model's
    predictions logs ``<metric>_<dataset variable>`` to that model's run.

    Parameters
    ----------
    log_input_examples
        Store the first rows of the training data with the model.
    log_model_signatures
        Store the model's input and output signature, inferred from the training data.
    log_models
        Log fitted models (``model``, and ``best_estimator`` for searches).
    log_datasets
        Record the training (and prediction) data as dataset inputs.
    disable
        Undo the patch: every original method and function is put back.
    exclusive
        Do not log into runs the user started; only into runs autolog creates.
    disable_for_unsupported_versions
        Stay off for scikit-learn releases this patch was not tested with.
    silent
        Do not warn when autologging fails.
    max_tuning_runs
        How many candidates of a search get a child run (the best by rank); all when None.
        (MLflow's default is 5; nbtrack logs every candidate so a sweep can be drawn whole.)
    log_post_training_metrics
        Log ``sklearn.metrics`` calls and ``score`` on logged models' predictions.
    serialization_format
        How models are stored: ``"skops"`` (safe to load, the default) or ``"pickle"``/
        ``"cloudpickle"``.
    registered_model_name
        Register each logged model as a new version of this registered model.
    pos_label
        Positive label for binary precision, recall and F1 (else weighted averages).
    extra_tags
        Tags set on every run autolog creates.
    """
    if max_tuning_runs is not None and (
        isinstance(max_tuning_runs, bool)
        or not isinstance(max_tuning_runs, int)
        or max_tuning_runs < 0
    ):
        raise InvalidParameter(
            f"max_tuning_runs must be None or a whole number >= 0 (found {max_tuning_runs!r})"
        )
    _unpatch()
    if disable:
        return
    if disable_for_unsupported_versions and not _supported_version():
        return
    state.config = state.Config(
        log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures,
        log_models=log_models,
        log_datasets=log_datasets,
        exclusive=exclusive,
        silent=silent,
        max_tuning_runs=max_tuning_runs,
        log_post_training_metrics=log_post_training_metrics,
        serialization_format=serialization_format,
        registered_model_name=registered_model_name,
        pos_label=pos_label,
        extra_tags={str(k): str(v) for k, v in (extra_tags or {}).items()},
    )
    try:
        _patch(state.config)
    except BaseException:
        _unpatch()
        raise


def current_config() -> dict[str, Any] | None:
    """The arguments autolog is enabled with in this process, or None when it is off."""
    config = state.active()
    return config.arguments() if config is not None else None


def _supported_version() -> bool:
    import sklearn

    major_minor = tuple(int(part) for part in sklearn.__version__.split(".")[:2])
    return SUPPORTED_VERSIONS[0] <= major_minor <= SUPPORTED_VERSIONS[1]


# -- patching ---------------------------------------------------------------------------


def _unpatch() -> None:
    state.config = None
    _patches.restore_all()


def _patch(config: state.Config) -> None:
    import sklearn.metrics
    import sklearn.model_selection
    from sklearn.base import BaseEstimator
    from sklearn.model_selection import _validation

    for cls in _subclasses(BaseEstimator):
        _patch_class(cls)
    _patch_future_subclasses(BaseEstimator)
    if config.log_post_training_metrics:
        for name in metric_names():
            _patch_function(sklearn.metrics, name, _metric_wrapper)
    for module in (sklearn.model_selection, _validation):
        for name in CROSS_VALIDATION_FUNCTIONS:
            if hasattr(module, name):
                _patch_function(module, name, _paused_wrapper)


def _subclasses(base: type) -> list[type]:
    found: dict[type, None] = {}
    todo = [base]
    while todo:
        sub: type
        for sub in type.__subclasses__(todo.pop()):
            if sub not in found:
                found[sub] = None
                todo.append(sub)
    return list(found)


def is_logged(cls: type) -> bool:
    """Whether fits of this class are logged (data-preparation classes are not, as in MLflow)."""
    module = cls.__module__
    return not module.startswith(NOT_LOGGED_MODULES) and (
        f"{module}.{cls.__qualname__}" not in NOT_LOGGED_CLASSES
    )


def _patch_class(cls: type) -> None:
    """Wrap the methods this class uses, on the classes (or mixins) that define them."""
    if not is_logged(cls):
        return
    for name in (*FIT_METHODS, *PREDICTION_METHODS, "score"):
        owner = next((k for k in cls.__mro__ if name in vars(k)), object)
        if owner is object:
            continue
        raw = vars(owner)[name]
        if inspect.isfunction(raw):
            target, attribute = owner, name
        elif inspect.isfunction(getattr(raw, "fn", None)):
            # available_if descriptors: wrap the function they hand out, so that
            # `hasattr(pipeline, "predict_proba")` still answers as before
            target, attribute = raw, "fn"
        else:
            continue
        if (target, attribute) not in _patches:
            original = vars(target)[attribute]
            _patches.replace(target, attribute, _method_wrapper(original, name))


def _patch_future_subclasses(base: type) -> None:
    own = vars(base).get("__init_subclass__")

    def __init_subclass__(cls: type, **kwargs: Any) -> None:
        if own is not None:
            own.__func__(cls, **kwargs)
        else:
            super(base, cls).__init_subclass__(**kwargs)  # type: ignore[arg-type,misc]
        try:
            if state.active() is not None:
                _patch_class(cls)
        except Exception as exc:
            state.warn_failure(exc, stacklevel=2)

    _patches.replace(base, "__init_subclass__", classmethod(__init_subclass__))


def _patch_function(module: Any, name: str, wrap: Callable[[Any], Any]) -> None:
    original = getattr(module, name)
    if inspect.isfunction(original) and (module, name) not in _patches:
        _patches.replace(module, name, wrap(original))


def _method_wrapper(original: Callable[..., Any], name: str) -> Callable[..., Any]:
    target: Callable[[Callable[..., Any], Any, tuple, dict], Any]
    if name in FIT_METHODS:
        target = patched_fit
    elif name == "score":
        target = patched_score
    else:
        target = patched_predict

    @functools.wraps(original)
    def method(self: Any, *args: Any, **kwargs: Any) -> Any:
        return target(original, self, args, kwargs)

    method.__nbtrack_original__ = original  # type: ignore[attr-defined]
    return method


def _metric_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def metric(*args: Any, **kwargs: Any) -> Any:
        return patched_metric(original, args, kwargs)

    metric.__nbtrack_original__ = original  # type: ignore[attr-defined]
    return metric


def _paused_wrapper(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def paused(*args: Any, **kwargs: Any) -> Any:
        if not state.BUSY.acquire(blocking=False):
            return original(*args, **kwargs)
        try:
            return original(*args, **kwargs)
        finally:
            state.BUSY.release()

    paused.__nbtrack_original__ = original  # type: ignore[attr-defined]
    return paused


# -- the patched fit ----------------------------------------------------------------------


def patched_fit(original: Callable[..., Any], estimator: Any, args: tuple, kwargs: dict) -> Any:
    """Run a fit; log it when it is the outermost fit of a logged class in this process."""
    config = state.active()
    if config is None or not is_logged(type(estimator)):
        return original(estimator, *args, **kwargs)
    if not state.BUSY.acquire(blocking=False):
        return original(estimator, *args, **kwargs)
    try:
        return _fit_and_log(config, original, estimator, args, kwargs)
    finally:
        state.BUSY.release()


def _fit_and_log(
    config: state.Config,
    original: Callable[..., Any],
    estimator: Any,
    args: tuple,
    kwargs: dict,
) -> Any:
    try:
        session = FitSession.open(config, estimator, original, args, kwargs)
    except Exception as exc:
        state.warn_failure(exc, stacklevel=4)
        return original(estimator, *args, **kwargs)
    if session is None:
        return original(estimator, *args, **kwargs)
    try:
        result = original(estimator, *args, **kwargs)
    except BaseException as error:
        _close(session, error)
        raise
    try:
        session.log_after()
    except Exception as exc:
        session.errors.append(exc)
    _close(session, None)
    if session.errors:
        state.warn_failure(session.errors[0], stacklevel=4)
    return result


def _close(session: Any, error: BaseException | None) -> None:
    try:
        session.close(error)
    except Exception as exc:
        session.errors.append(exc)
        if error is not None:  # the user's own exception is what they must see
            state.warn_failure(exc, stacklevel=5)
