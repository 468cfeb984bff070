"""What a model card says, gathered from the registry, the snapshot, the runs and datasets.

Sources, in order of preference:

- **model type**: the version's snapshot. An sklearn model saved with skops
  (``flavors.sklearn.pickled_model`` in ``MLmodel``) carries its object tree in the zip's
  ``schema.json``: the estimator's class, a Pipeline's steps, a search's inner estimator,
  read without loading (so without running) the model. Otherwise (pickle formats, other
  flavors) the run's ``estimator_class`` tag and ``steps`` / ``estimator`` params that
  autolog records, as MLflow's autolog does.
- **task** (``tabular-classification`` / ``tabular-regression``): a ``task`` tag on the
  version or the registered model, else the final estimator's class: for a scikit-learn
  class path, whether the class is a ``ClassifierMixin`` or a ``RegressorMixin``; for a
  bare class name or another library, its name (``…Classifier``, ``SVC``, ``…NB``,
  ``LogisticRegression`` classify; ``…Regressor``, ``…Regression``, ``SVR``, ``Lasso``,
  ``Ridge``, ``ElasticNet`` regress).
- **library and Python versions**: ``MLmodel`` (``<flavor>_version``,
  ``python_function.python_version``), else ``requirements.txt`` and the run's
  ``nbtrack.python.version`` tag.
- **developed by**: an ``author`` tag on the version, the registered model or the run,
  else the run's ``mlflow.user`` tag or user, else the user who registered the version.
- **evaluation runs** of a version: child runs of its training run tagged
  ``mlflow.runType = evaluation``, and runs anywhere in the store tagged
  ``nbtrack.evaluation.model_uri`` with ``models:/<name>/<version>`` or the version's
  source URI. Every other child run of the training run belongs to its **sweep** (a
  grid search's candidates); the card gives the best value of each metric across them.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import TYPE_CHECKING, Any

from nbtrack import tag_keys
from nbtrack.artifacts import uri_to_path
from nbtrack.errors import NbtrackError
from nbtrack.registry import resolve_version
from nbtrack.store.cards import CardStore

if TYPE_CHECKING:
    from nbtrack.client import MlflowClient
    from nbtrack.entities import Dataset, ModelVersion, RegisteredModel, Run

EVALUATION_RUN_TYPE = "evaluation"
AUTHOR_TAG = "author"
TASK_TAG = "task"
LICENSE_TAG = "license"
LIBRARY_NAMES = {"sklearn": "scikit-learn"}  # flavor -> the package users know
HUB_LIBRARIES = {"sklearn": "sklearn"}  # flavor -> the Hub's library_name
_LOWER_IS_BETTER = {"loss", "error", "rank", "std", "time", "deviance", "mse", "mae", "rmse"}
_STEP_RE = re.compile(r"\(\s*'([^']+)'\s*,\s*([A-Za-z_]\w*)\(")
_CALL_RE = re.compile(r"\s*([A-Za-z_]\w*)\(")
# By name, for classes known only by name (or not from scikit-learn); classifiers first,
# so that RidgeClassifier and LogisticRegression are not taken for regressors.
_CLASSIFIER_NAME = re.compile(r"(Classifier(CV)?|SVC|NB|LogisticRegression(CV)?)$")
_REGRESSOR_NAME = re.compile(
    r"(Regressor|Regression(CV)?|SVR|Lasso(CV)?|Ridge(CV)?|ElasticNet(CV)?)$"
)


@dataclass(frozen=True)
class ModelType:
    """An estimator's class, a Pipeline's steps, a search's inner estimator."""

    class_path: str
    steps: tuple[tuple[str, str], ...] = ()
    inner: ModelType | None = None

    @property
    def final_class(self) -> str:
        """The class that makes the predictions (a Pipeline's last step, a search's estimator)."""
        if self.steps:
            return self.steps[-1][1]
        return self.inner.final_class if self.inner else self.class_path

    def describe(self) -> str:
        """``Pipeline: `scale` StandardScaler → `clf` LogisticRegression`` and the like."""
        short = _short(self.class_path)
        if self.steps:
            chain = " → ".join(f"`{name}` {_short(cls)}" for name, cls in self.steps)
            return f"{short}: {chain}"
        if self.inner is not None:
            return f"{short} over {self.inner.describe()}"
        return f"{short} (`{self.class_path}`)" if short != self.class_path else short


@dataclass(frozen=True)
class DatasetFacts:
    """One dataset input of a run, as the card shows it."""

    name: str
    context: str | None
    source: str
    digest: str
    rows: int | None
    schema: str


@dataclass(frozen=True)
class SweepBest:
    """The best value of one metric across a sweep's child runs, and which run had it."""

    key: str
    value: float
    goal: str  # "min" or "max"
    run: Run


@dataclass
class CardFacts:
    """Everything a model card shows (``sections`` is updated by ``set_section``)."""

    version: ModelVersion
    model: RegisteredModel
    run: Run | None
    experiment_name: str | None
    evaluation_runs: list[Run]
    sweep_runs: list[Run]
    run_datasets: dict[str, list[DatasetFacts]]
    model_type: ModelType | None
    trainer: str | None
    task: str | None
    library_id: str | None
    library: str | None
    python_version: str | None
    model_format: str | None
    developer: str | None
    license: str | None
    sections: dict[str, str] = field(default_factory=dict)

    @property
    def datasets(self) -> list[DatasetFacts]:
        """The training run's datasets."""
        return self.run_datasets.get(self.run.info.run_id, []) if self.run else []

    @property
    def sweep(self) -> list[SweepBest]:
        """The best value of each metric across the sweep's child runs."""
        return sweep_best(self.sweep_runs)


def gather(client: MlflowClient, name: str, version_or_alias: str | int) -> CardFacts:
    """Collect a version's card facts (see the module docstring for the sources)."""
    version = resolve_version(client, name, version_or_alias)
    model = client.get_registered_model(version.name)
    folder = uri_to_path(client.get_model_version_download_uri(version.name, version.version))
    mlmodel = _read_yaml(folder / "MLmodel")
    found = mlmodel.get("flavors")
    flavors: dict[str, Any] = found if isinstance(found, dict) else {}
    run = _run_or_none(client, version.run_id)
    cards = CardStore(client.store.db)
    children = client.store.get_runs(cards.child_run_ids(run.info.run_id)) if run else []
    evaluations = _evaluation_runs(client, cards, version, run, children)
    evaluation_ids = {r.info.run_id for r in evaluations}
    tags = {**(run.data.tags if run else {}), **model.tags, **version.tags}
    model_type = _snapshot_type(folder, flavors) or _run_type(run)
    requirements = _requirements(folder / "requirements.txt")
    return CardFacts(
        version=version,
        model=model,
        run=run,
        experiment_name=_experiment_name(client, run),
        evaluation_runs=evaluations,
        sweep_runs=[r for r in children if r.info.run_id not in evaluation_ids],
        run_datasets={
            r.info.run_id: [dataset_facts(d.dataset, d.tags) for d in r.inputs.dataset_inputs]
            for r in ([run] if run else []) + evaluations
        },
        model_type=model_type,
        trainer=_trainer(run),
        task=tags.get(TASK_TAG) or (task_of(model_type.final_class) if model_type else None),
        library_id=next((HUB_LIBRARIES[f] for f in flavors if f in HUB_LIBRARIES), None),
        library=_library(flavors, requirements),
        python_version=_python_version(flavors, run),
        model_format=_model_format(flavors),
        developer=tags.get(AUTHOR_TAG) or _run_user(run) or version.user_id,
        license=tags.get(LICENSE_TAG),
        sections=cards.card_sections(version.name, int(version.version)),
    )


# -- runs -------------------------------------------------------------------------------


def _run_or_none(client: MlflowClient, run_id: str | None) -> Run | None:
    if not run_id:
        return None
    try:
        return client.get_run(run_id)
    except NbtrackError:  # removed by gc: the card says so instead of failing
        return None


def _experiment_name(client: MlflowClient, run: Run | None) -> str | None:
    if run is None:
        return None
    try:
        return client.get_experiment(run.info.experiment_id).name
    except NbtrackError:
        return None


def _evaluation_runs(
    client: MlflowClient,
    cards: CardStore,
    version: ModelVersion,
    run: Run | None,
    children: list[Run],
) -> list[Run]:
    found = [r for r in children if r.data.tags.get(tag_keys.RUN_TYPE) == EVALUATION_RUN_TYPE]
    uris = [f"models:/{version.name}/{version.version}"]
    uris += [version.source] if version.source else []
    seen = {r.info.run_id for r in found} | ({run.info.run_id} if run else set())
    tagged = cards.runs_tagged(tag_keys.EVALUATED_MODEL_URI, uris)
    tagged = [run_id for run_id in tagged if run_id not in seen]
    return found + client.store.get_runs(tagged)


def _trainer(run: Run | None) -> str | None:
    found = run.data.tags.get("estimator_class") if run else None
    return public_class_path(found) if found else None


def _run_user(run: Run | None) -> str | None:
    if run is None:
        return None
    return run.data.tags.get(tag_keys.USER) or run.info.user_id or None


def sweep_best(runs: list[Run]) -> list[SweepBest]:
    """For each metric the runs logged, the best finite value and the run with it.

    The goal is ``min`` for names with a word among loss, error, rank, std, time,
    deviance, mse, mae, rmse, and ``max`` otherwise; ties go to the earlier run.
    """
    best: dict[str, SweepBest] = {}
    for run in runs:
        for key, value in run.data.metrics.items():
            if not math.isfinite(value):
                continue
            goal = "min" if set(re.split(r"[_\W]+", key.lower())) & _LOWER_IS_BETTER else "max"
            current = best.get(key)
            better = current is None or (
                value < current.value if goal == "min" else value > current.value
            )
            if better:
                best[key] = SweepBest(key, value, goal, run)
    return [best[k] for k in sorted(best)]


# -- metrics by the data they were computed on -------------------------------------------

# dataset contexts and metric-name prefixes, by the kind of data they name
_CONTEXT_KINDS = {
    "train": "training",
    "training": "training",
    "val": "validation",
    "valid": "validation",
    "validation": "validation",
    "test": "test",
    "testing": "test",
    "holdout": "test",
    "eval": "evaluation",
    "evaluation": "evaluation",
}
_PREFIX_KINDS = (
    ("training_", "training"),
    ("train_", "training"),
    ("validation_", "validation"),
    ("val_", "validation"),
    ("test_", "test"),
    ("holdout_", "test"),
    ("eval_", "evaluation"),
)
KIND_TITLES = {
    "training": "Training data",
    "validation": "Validation data",
    "test": "Test data",
    "evaluation": "Evaluation data",
    "unstated": "Data not stated",
}


@dataclass
class MetricGroup:
    """Metrics computed on one kind of data (and one dataset, when the run logged it)."""

    kind: str  # a key of KIND_TITLES
    dataset: str | None
    rows: list[tuple[str, float, Run]] = field(default_factory=list)

    @property
    def title(self) -> str:
        """``Test data (`iris-test`)`` and the like."""
        base = KIND_TITLES.get(self.kind, f"{self.kind.capitalize()} data")
        return f"{base} (`{self.dataset}`)" if self.dataset else base


def _context_kind(context: str | None) -> str | None:
    return _CONTEXT_KINDS.get(context.lower(), context.lower()) if context else None


def metric_groups(facts: CardFacts) -> list[MetricGroup]:
    """The training and evaluation runs' metrics, grouped by the data they were computed on.

    A training-run metric named ``training_…``/``train_…`` is on the training data,
    ``test_…``/``val_…`` on the test or validation data; any other is on the run's
    dataset when it logged one kind, else "data not stated". An evaluation run's metrics
    are on its dataset (context ``evaluation``, ``test``…), "evaluation data" without one.
    """
    groups: dict[tuple[str, str | None], MetricGroup] = {}

    def add(kind: str, dataset: str | None, key: str, value: float, run: Run) -> None:
        group = groups.setdefault((kind, dataset), MetricGroup(kind, dataset))
        group.rows.append((key, value, run))

    for run in ([facts.run] if facts.run else []) + facts.evaluation_runs:
        datasets = facts.run_datasets.get(run.info.run_id, [])
        by_kind = {_context_kind(d.context) or "unstated": d.name for d in datasets}
        training = run is facts.run
        only = next(iter(by_kind.items())) if len(by_kind) == 1 else None
        for key, value in sorted(run.data.metrics.items()):
            kind = next((k for p, k in _PREFIX_KINDS if key.startswith(p)), None)
            if kind is not None:
                add(kind, by_kind.get(kind), key, value, run)
            elif only is not None:
                add(
                    only[0] if only[0] != "unstated" or training else "evaluation",
                    only[1],
                    key,
                    value,
                    run,
                )
            else:
                add("unstated" if training else "evaluation", None, key, value, run)
    order = list(KIND_TITLES)
    return sorted(
        groups.values(),
        key=lambda g: (order.index(g.kind) if g.kind in order else len(order), g.dataset or ""),
    )


# -- the model --------------------------------------------------------------------------


def _read_yaml(path: Path) -> dict[str, Any]:
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def _requirements(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def _snapshot_type(folder: Path, flavors: dict[str, Any]) -> ModelType | None:
    """The model's class tree from a skops file's ``schema.json``, without loading it."""
    sklearn = flavors.get("sklearn")
    file = sklearn.get("pickled_model") if isinstance(sklearn, dict) else None
    if not isinstance(file, str) or not zipfile.is_zipfile(folder / file):
        return None
    try:
        with zipfile.ZipFile(folder / file) as archive:
            schema = json.loads(archive.read("schema.json"))
        return _node_type(schema)
    except (KeyError, TypeError, ValueError, AttributeError, IndexError):
        return None


def _node_type(node: dict[str, Any]) -> ModelType:
    attrs = node.get("content", {}).get("content", {})
    steps = []
    if isinstance(attrs.get("steps"), dict):
        for pair in attrs["steps"]["content"]:
            step_name, step = pair["content"]
            steps.append((json.loads(step_name["content"]), _step_class(step)))
    inner = attrs.get("estimator")
    return ModelType(
        public_class_path(f"{node['__module__']}.{node['__class__']}"),
        tuple(steps),
        _node_type(inner) if isinstance(inner, dict) and "content" in inner else None,
    )


def _step_class(node: dict[str, Any]) -> str:
    if node.get("__module__") == "builtins":  # "passthrough" or None
        return str(json.loads(node["content"])) if node.get("content") else "passthrough"
    return public_class_path(f"{node['__module__']}.{node['__class__']}")


def public_class_path(class_path: str) -> str:
    """The path a class is imported by: ``sklearn.tree._classes.X`` -> ``sklearn.tree.X``.

    The module path is cut before its first private part when the package there exports
    the same class (checked by importing it); when it cannot be imported here, the cut is
    made on the convention alone. Other paths are returned as they are.
    """
    module, _, name = class_path.rpartition(".")
    parts = module.split(".")
    private = next((i for i, part in enumerate(parts) if part.startswith("_")), None)
    if not private:  # no private part, or the top package itself is private
        return class_path
    public = ".".join(parts[:private])
    try:
        exported = getattr(importlib.import_module(public), name, None)
        defined = getattr(importlib.import_module(module), name, None)
    except Exception:  # not importable here (or failing to import): trust the convention
        return f"{public}.{name}"
    return f"{public}.{name}" if exported is not None and exported is defined else class_path


def _run_type(run: Run | None) -> ModelType | None:
    """The model type autolog's tags and params describe (class names only for steps)."""
    if run is None or "estimator_class" not in run.data.tags:
        return None
    params = run.data.params
    steps = tuple(_STEP_RE.findall(params.get("steps", "")))
    inner = _CALL_RE.match(params.get("estimator", ""))
    return ModelType(
        public_class_path(run.data.tags["estimator_class"]),
        steps,
        ModelType(inner.group(1)) if inner else None,
    )


def task_of(class_path: str) -> str | None:
    """``tabular-classification`` or ``tabular-regression`` for an estimator class."""
    module, _, name = class_path.rpartition(".")
    if module.split(".")[0] == "sklearn":
        try:
            cls = getattr(importlib.import_module(module), name)
            from sklearn.base import ClassifierMixin, RegressorMixin
        except (ImportError, AttributeError):
            cls = None
        if isinstance(cls, type) and issubclass(cls, ClassifierMixin):
            return "tabular-classification"
        if isinstance(cls, type) and issubclass(cls, RegressorMixin):
            return "tabular-regression"
    if _CLASSIFIER_NAME.search(name):
        return "tabular-classification"
    if _REGRESSOR_NAME.search(name):
        return "tabular-regression"
    return None


def _library(flavors: dict[str, Any], requirements: list[str]) -> str | None:
    for flavor, conf in flavors.items():
        if flavor == "python_function":
            continue
        package = LIBRARY_NAMES.get(flavor, flavor)
        version = conf.get(f"{flavor}_version") if isinstance(conf, dict) else None
        pinned = [r.split("==", 1)[1] for r in requirements if r.startswith(f"{package}==")]
        version = version or (pinned[0] if pinned else None)
        return f"{package} {version}" if version else package
    return None


def _python_version(flavors: dict[str, Any], run: Run | None) -> str | None:
    pyfunc = flavors.get("python_function")
    if isinstance(pyfunc, dict) and pyfunc.get("python_version"):
        return str(pyfunc["python_version"])
    return run.data.tags.get(tag_keys.PYTHON_VERSION) if run else None


def _model_format(flavors: dict[str, Any]) -> str | None:
    names = []
    for flavor, conf in flavors.items():
        fmt = conf.get("serialization_format") if isinstance(conf, dict) else None
        names.append(f"{flavor} ({fmt})" if fmt else flavor)
    return ", ".join(names) or None


def _short(class_path: str) -> str:
    return class_path.rpartition(".")[2]


# -- datasets ---------------------------------------------------------------------------


def dataset_facts(dataset: Dataset, tags: list[Any]) -> DatasetFacts:
    """A dataset input as people read it: context, source, rows, columns with their types."""
    context = next((t.value for t in tags if t.key == tag_keys.DATASET_CONTEXT), None)
    profile = _json(dataset.profile)
    rows = profile.get("num_rows") if isinstance(profile, dict) else None
    return DatasetFacts(
        name=dataset.name,
        context=context,
        source=_source_text(dataset.source, dataset.source_type),
        digest=dataset.digest,
        rows=rows if isinstance(rows, int) else None,
        schema=_schema_text(dataset.schema),
    )


def _json(text: str | None) -> Any:
    try:
        return json.loads(text) if text else None
    except ValueError:
        return None


def _source_text(source: str, source_type: str) -> str:
    data = _json(source)
    if isinstance(data, dict):
        for key in ("uri", "url", "path"):
            if data.get(key):
                return f"{public_location(str(data[key]))} ({source_type})"
        name = (data.get("tags") or {}).get(tag_keys.SOURCE_NAME)
        if name:
            return f"{public_location(name)} ({source_type})"
    return f"{public_location(source)} ({source_type})"


def public_location(text: str) -> str:
    """A location fit for a published card: a local path (or ``file:`` URI) keeps its name.

    ``/home/ana/data/iris.csv`` and ``file:///C:/work/iris.csv`` become ``iris.csv``;
    URLs, ``runs:/`` and ``models:/`` URIs and relative paths are kept as they are.
    """
    path = text[len("file://") :] if text.startswith("file://") else text
    path = path[len("file:") :] if path.startswith("file:") else path
    windows = PureWindowsPath(path)
    local = path.startswith(("/", "~")) or bool(windows.drive) or path.startswith("\\\\")
    if not local:
        return text
    name = (windows if windows.drive or "\\" in path else PurePosixPath(path)).name
    return name or text


def _schema_text(schema: str | None) -> str:
    data = _json(schema)
    if not isinstance(data, dict):
        return schema or ""
    if isinstance(data.get("mlflow_colspec"), list):
        return ", ".join(
            f"{c.get('name', '?')}: {c.get('type', '?')}" for c in data["mlflow_colspec"]
        )
    tensors = data.get("mlflow_tensorspec")
    if isinstance(tensors, dict):
        parts = []
        for role, specs in tensors.items():
            for spec in _json(specs) or []:
                info = spec.get("tensor-spec", {}) if isinstance(spec, dict) else {}
                parts.append(f"{role}: {info.get('dtype', '?')} {tuple(info.get('shape', ()))}")
        return ", ".join(parts)
    return schema or ""
