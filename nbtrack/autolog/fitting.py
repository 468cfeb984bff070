"""One autologged fit: which run it goes to, and what is logged before and after it.

The run is the active run when there is one (unless ``exclusive``); a fit that would
clash with what that run already holds (an earlier autologged fit, or params with other
values) gets a child run of it instead of failing. With no active run, autolog starts a
run of its own, tagged ``mlflow.autologging``, and ends it when the fit returns: FINISHED,
or FAILED (KILLED on an interrupt) when the user's fit raised.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any

from nbtrack import context, session, tag_keys, tracking
from nbtrack.autolog import search, state
from nbtrack.autolog.datasets import dataset_input
from nbtrack.autolog.metrics import training_metrics_and_predictions
from nbtrack.autolog.posttraining import TRACKER
from nbtrack.entities import DatasetInput, Run, RunInfo, RunStatus, RunTag
from nbtrack.models import infer_signature, sklearn_flavor

INPUT_EXAMPLE_ROWS = 5
_runs_with_fits: set[str] = set()  # runs that already hold an autologged fit


@functools.lru_cache(maxsize=1024)
def _argument_names(method: Callable[..., Any]) -> tuple[str, ...]:
    return tuple(inspect.signature(method).parameters)[1:]


def fit_arguments(method: Callable[..., Any], args: tuple, kwargs: dict) -> tuple[Any, Any, Any]:
    """(X, y, sample_weight) of a fit call, whatever the fit method names them."""
    names = _argument_names(method)

    def argument(index: int) -> Any:
        if len(args) > index:
            return args[index]
        return kwargs.get(names[index]) if len(names) > index else None

    weight = argument(names.index("sample_weight")) if "sample_weight" in names else None
    return argument(0), argument(1), weight


class FitSession:
    """The logging around one outermost fit call."""

    def __init__(self, config: state.Config, estimator: Any, X: Any, y: Any, weight: Any):
        self.config = config
        self.estimator = estimator
        self.X, self.y, self.sample_weight = X, y, weight
        self.info: RunInfo | None = None
        self.managed = False
        self.dataset: DatasetInput | None = None
        self.predictions: Any = None  # predict(X), once the training metrics computed it
        self.errors: list[Exception] = []

    @classmethod
    def open(
        cls,
        config: state.Config,
        estimator: Any,
        method: Callable[..., Any],
        args: tuple,
        kwargs: dict,
    ) -> FitSession | None:
        """Choose the run and log what is known before the fit; None if this fit is not logged."""
        active = tracking.active_run()
        if active is not None and config.exclusive:
            return None
        session = cls(config, estimator, *fit_arguments(method, args, kwargs))
        params = search.estimator_params(estimator)
        session._choose_run(active, params)
        session._attempt(lambda: session._log_before(params))
        return session

    def _choose_run(self, active: tracking.ActiveRun | None, params: dict[str, Any]) -> None:
        tags = {tag_keys.AUTOLOGGING: state.FLAVOR, **self.config.extra_tags}
        if active is not None:
            run = session.client().get_run(active.info.run_id)
            if not _clashes(run, params):
                self.info = run.info
                return
        self.info = tracking.start_run(nested=active is not None, tags=tags).info
        self.managed = True

    @property
    def run_id(self) -> str:
        """The id of the run this fit logs to."""
        assert self.info is not None
        return self.info.run_id

    def _log_before(self, params: dict[str, Any]) -> None:
        _runs_with_fits.add(self.run_id)
        tags = [RunTag(k, v) for k, v in state.estimator_tags(self.estimator).items()]
        session.client().log_batch(self.run_id, params=state.to_params(params), tags=tags)
        if self.config.log_datasets:
            self._attempt(self._log_dataset)

    def _log_dataset(self) -> None:
        self.dataset = dataset_input(self.X, self.y, "train")
        if self.dataset is not None:
            session.client().log_inputs(self.run_id, [self.dataset])

    def _attempt(self, step: Callable[[], Any]) -> None:
        try:
            step()
        except Exception as exc:  # later steps still run; the user hears of the first failure
            self.errors.append(exc)

    # -- after the fit ----------------------------------------------------------------

    def log_after(self) -> None:
        """Log training metrics, models and search results of the fitted estimator."""
        self._attempt(self._log_metrics)
        if self.config.log_models:
            self._attempt(lambda: self._log_model(self.estimator, "model", registered=True))
        if search.is_search(self.estimator):
            self._log_search()
        if self.config.log_post_training_metrics:
            TRACKER.register_model(self.estimator, self.run_id)

    def _log_metrics(self) -> None:
        est = self.estimator
        values, self.predictions = training_metrics_and_predictions(
            est, self.X, self.y, self.sample_weight, self.config.pos_label
        )
        params: dict[str, Any] = {}
        if search.is_search(est):
            values.update(search.best_metrics(est))
            params = search.best_params(est)
        session.client().log_batch(
            self.run_id, metrics=state.to_metrics(values), params=state.to_params(params)
        )

    def _log_search(self) -> None:
        est = self.estimator
        if self.config.log_models and hasattr(est, "best_estimator_"):
            self._attempt(lambda: self._log_model(est.best_estimator_, "best_estimator"))
        if hasattr(est, "cv_results_"):
            tags = {**context.run_tags(), tag_keys.AUTOLOGGING: state.FLAVOR}
            info = self.info
            assert info is not None
            self._attempt(
                lambda: search.log_child_runs(
                    info, est, self.config.max_tuning_runs, tags, self.dataset
                )
            )
            self._attempt(lambda: search.log_cv_results(self.run_id, est))

    def _log_model(self, model: Any, path: str, registered: bool = False) -> None:
        example = _head(self.X)
        signature = None
        if self.config.log_model_signatures and example is not None:
            signature = _signature(model, example, self.predictions)
        sklearn_flavor.log_model(
            model,
            artifact_path=path,
            signature=signature,
            input_example=example if self.config.log_input_examples else None,
            serialization_format=self.config.serialization_format,
            registered_model_name=self.config.registered_model_name if registered else None,
        )

    # -- ending -----------------------------------------------------------------------

    def close(self, error: BaseException | None = None) -> None:
        """End the run autolog started: FINISHED, FAILED, or KILLED on an interrupt."""
        if not self.managed:
            return
        if error is None:
            status = RunStatus.FINISHED
        elif isinstance(error, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        active = tracking.active_run()
        if active is not None and active.info.run_id == self.run_id:
            tracking.end_run(status)
        else:  # the fit ended or replaced the run itself; still record how it ended
            session.client().set_terminated(self.run_id, status)


def _clashes(run: Run, params: dict[str, Any]) -> bool:
    """Whether logging this fit into ``run`` would overwrite an earlier fit or change params."""
    if run.info.run_id in _runs_with_fits:
        return True
    logged = run.data.params
    return any(logged.get(p.key, p.value) != p.value for p in state.to_params(params))


def _head(X: Any) -> Any:
    """A copy of the first rows of the training data (the model's input example)."""
    import numpy as np

    if hasattr(X, "iloc"):
        return X.iloc[:INPUT_EXAMPLE_ROWS].copy()
    if isinstance(X, np.ndarray):
        return X[:INPUT_EXAMPLE_ROWS].copy()
    return None


def _signature(model: Any, example: Any, predictions: Any) -> Any:
    """The signature from the input example and the model's output on it.

    The output is the first rows of the training predictions when the training metrics
    computed them (the same model, or a search's refitted best estimator: the same output),
    else the model predicts (or transforms) the example.
    """
    if predictions is not None and len(predictions) >= len(example):
        output = predictions[: len(example)]
    elif hasattr(model, "predict"):
        output = model.predict(example.copy())
    elif hasattr(model, "transform"):
        output = model.transform(example.copy())
    else:
        return None
    return infer_signature(example, output)
