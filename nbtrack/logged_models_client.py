"""``MlflowClient``'s LoggedModel methods (MLflow 3): create, finalize, tag, search, link.

A LoggedModel made here (``create_logged_model``) keeps its files under its experiment's
artifact folder, ``<experiment>/models/<model_id>/artifacts``; one made by ``log_model`` is
the model folder inside the run's artifacts, so ``runs:/`` and ``models:/<model_id>`` name
the same files.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack import validation
from nbtrack.artifacts import LocalArtifacts
from nbtrack.entities import (
    FileInfo,
    LoggedModel,
    LoggedModelOutput,
    LoggedModelStatus,
    Metric,
    PagedList,
)
from nbtrack.errors import InvalidParameter
from nbtrack.naming import random_run_name

if TYPE_CHECKING:
    from nbtrack.store import TrackingStore

__all__ = ["LoggedModelClient"]


class LoggedModelClient:
    """The LoggedModel half of ``MlflowClient``."""

    if TYPE_CHECKING:

        @property
        def store(self) -> TrackingStore:
            """The tracking store (``MlflowClient`` provides it)."""

    def create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
    ) -> LoggedModel:
        """Create a PENDING LoggedModel; finalize it once its files are written."""
        return self._create_logged_model(
            experiment_id, name, source_run_id, tags, params, model_type
        )

    def _create_logged_model(
        self,
        experiment_id: str,
        name: str | None = None,
        source_run_id: str | None = None,
        tags: dict[str, str] | None = None,
        params: dict[str, str] | None = None,
        model_type: str | None = None,
        artifact_location: str | None = None,
        status: str = LoggedModelStatus.PENDING,
    ) -> LoggedModel:
        """As create_logged_model, with the files at ``artifact_location`` if given."""
        experiment = self.store.get_experiment(str(experiment_id))
        if source_run_id is not None:
            self.store.get_run(source_run_id)  # the lineage must point at a real run
        root = experiment.artifact_location.rstrip("/")
        return self.store.create_logged_model(
            experiment.experiment_id,
            _name(name),
            lambda model_id: artifact_location or f"{root}/models/{model_id}/artifacts",
            source_run_id,
            _strings(tags, "logged model tag"),
            _strings(params, "logged model param"),
            model_type,
            status,
        )

    def get_logged_model(self, model_id: str) -> LoggedModel:
        """The LoggedModel with this id."""
        return self.store.get_logged_model(model_id)

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        """Mark a model READY (its files are complete) or FAILED."""
        text = str(getattr(status, "value", status))
        if text not in (LoggedModelStatus.READY, LoggedModelStatus.FAILED):
            raise InvalidParameter(
                f"a logged model is finalized as READY or FAILED (found {status!r})", key=model_id
            )
        return self.store.finalize_logged_model(model_id, text)

    def search_logged_models(
        self,
        experiment_ids: list[str],
        filter_string: str | None = None,
        datasets: list[dict[str, Any]] | None = None,
        max_results: int | None = None,
        order_by: list[dict[str, Any]] | None = None,
        page_token: str | None = None,
    ) -> PagedList[LoggedModel]:
        """LoggedModels of these experiments matching a filter, newest first by default.

        Parameters
        ----------
        filter_string
            MLflow's grammar: ``name = 'clf'``, ``status = 'READY'``, ``tags.k = 'v'``,
            ``params.alpha = '0.1'``, ``metrics.accuracy > 0.9`` (the latest point)…
        datasets
            ``[{"dataset_name": "test", "dataset_digest": "…"}]``: ``metrics.<key>``
            clauses and orderings see only the metrics logged on these datasets
            (``log_metric(..., dataset=...)``).
        order_by
            Dicts such as ``{"field_name": "metrics.accuracy", "ascending": False}``.
        """
        models, token = self.store.search_logged_models(
            [str(e) for e in experiment_ids],
            filter_string,
            max_results,
            order_by,
            page_token,
            datasets,
        )
        return PagedList(models, token)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        """Set (or replace) tags of a model."""
        self.store.set_logged_model_tags(model_id, _strings(tags, "logged model tag"))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        """Remove a tag from a model."""
        self.store.delete_logged_model_tag(model_id, key)

    def delete_logged_model(self, model_id: str) -> None:
        """Mark a model deleted (its files stay where they are)."""
        self.store.delete_logged_model(model_id)

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        """Record params of a model (each set once)."""
        self.store.log_logged_model_params(model_id, _strings(params, "logged model param"))

    def log_model_metrics(
        self,
        model_id: str,
        metrics: Sequence[Metric],
        run_id: str | None = None,
        dataset: tuple[str, str] | None = None,
    ) -> None:
        """Append metric points to a model (``log_metric(model_id=...)`` does this).

        ``dataset`` is the (name, digest) of the dataset the metrics were computed on.
        """
        self.store.log_logged_model_metrics(model_id, metrics, run_id, dataset)

    def log_outputs(self, run_id: str, models: list[LoggedModelOutput]) -> None:
        """Record models as outputs of a run, each at a step."""
        self.store.get_run(run_id)
        self.store.log_model_outputs(run_id, [(m.model_id, int(m.step)) for m in models])

    def log_model_artifact(self, model_id: str, local_path: str) -> None:
        """Copy a local file into a LoggedModel's artifacts."""
        LocalArtifacts(self.get_logged_model(model_id).artifact_location).log_artifact(local_path)

    def log_model_artifacts(self, model_id: str, local_dir: str) -> None:
        """Copy a local folder's contents into a LoggedModel's artifacts."""
        location = self.get_logged_model(model_id).artifact_location
        LocalArtifacts(location).log_artifacts(local_dir)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        """Files and folders directly under ``path`` in a model's artifacts."""
        location = self.get_logged_model(model_id).artifact_location
        return LocalArtifacts(location).list_artifacts(path)


def _name(name: str | None) -> str:
    if name is None:
        return random_run_name()
    if not isinstance(name, str) or not name.strip():
        raise InvalidParameter(
            f"a logged model name is a non-empty string (found {name!r})", name=name
        )
    return name


def _strings(values: dict[str, Any] | None, what: str) -> dict[str, str]:
    return {
        validation.validate_key(k, what): validation.tag_value(k, v)
        for k, v in (values or {}).items()
    }
