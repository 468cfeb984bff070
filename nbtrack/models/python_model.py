"""Custom Python models (``mlflow.pyfunc.PythonModel``), saved the safe way by default.

A :class:`PythonModel` subclass holds preprocessing plus a model behind
``predict(context, model_input, params=None)``. It is saved in MLflow's "models from code"
form: ``python_model="model.py"`` names a file that defines the model and calls
:func:`set_model`; the file is copied into the model folder and run at load, so loading
unpickles nothing. A model *object* is pickled with cloudpickle only when ``allow_pickle=True``
says so, and loading that folder needs ``allow_pickle=True`` again.

``artifacts={"name": path_or_uri}`` are copied under ``artifacts/`` and reach
``load_context(context)`` as ``context.artifacts["name"]`` (a local path); ``code_paths`` go
under ``code/`` and onto ``sys.path``. The folder is MLflow's: ``mlflow.pyfunc.load_model``
loads it when the code file can import what it uses.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from typing import Any, NamedTuple

from nbtrack.artifacts import download_artifacts
from nbtrack.errors import InvalidParameter, UnsafeModelError, missing
from nbtrack.models.model import (
    PYTHON_VERSION,
    Model,
    ModelInfo,
    folder_size,
    installed_version,
    pinned,
    prepare_target,
)
from nbtrack.models.packaging import add_code_to_path, copy_code_paths, write_model_environment
from nbtrack.models.signature import ModelSignature, save_example, signature_from_example
from nbtrack.version import __version__

CODE_MODEL_LOADER = "mlflow.pyfunc.loaders.code_model"
PICKLED_MODEL_LOADER = "mlflow.pyfunc.model"
PYTHON_MODEL_FILE = "python_model.pkl"
ARTIFACTS_SUBPATH = "artifacts"

__all__ = [
    "PythonModel",
    "PythonModelContext",
    "load_pyfunc",
    "log_model",
    "save_model",
    "set_model",
]


class TypeHints(NamedTuple):
    """The input and output type hints MLflow's wrapper reads (nbtrack validates by signature)."""

    input: Any = None
    output: Any = None


class PythonModel:
    """Base class of custom models: override ``predict`` (and ``load_context`` if needed)."""

    def load_context(self, context: PythonModelContext) -> None:
        """Load what ``predict`` needs (files from ``context.artifacts``); called once at load."""

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """The model's predictions for ``model_input`` (``params``: inference params)."""
        raise NotImplementedError(f"{type(self).__name__} must define predict")

    @property
    def predict_type_hints(self) -> TypeHints:
        """No type hints: MLflow's loader reads this; nbtrack checks inputs by signature."""
        return TypeHints()


class PythonModelContext:
    """What ``load_context`` and ``predict`` get: the artifacts' local paths and the config.

    Parameters
    ----------
    artifacts
        Artifact name → absolute local path inside the loaded model folder.
    model_config
        The ``model_config`` given at save time (or to ``load_model``).
    """

    def __init__(self, artifacts: dict[str, str], model_config: dict[str, Any] | None = None):
        self._artifacts = artifacts
        self._model_config = model_config or {}

    @property
    def artifacts(self) -> dict[str, str]:
        """Artifact name → local path."""
        return self._artifacts

    @property
    def model_config(self) -> dict[str, Any]:
        """The model's configuration."""
        return self._model_config


class _FunctionModel(PythonModel):
    """A plain function set as the model: ``predict(context, x)`` calls ``function(x)``."""

    def __init__(self, function: Any):
        self.function = function

    def predict(
        self, context: PythonModelContext, model_input: Any, params: dict[str, Any] | None = None
    ) -> Any:
        """The function's result."""
        return self.function(model_input)


# -- models from code ------------------------------------------------------------------------

_model_set: Any = None


def set_model(model: Any) -> None:
    """Name the model a model-code file defines (``mlflow.models.set_model``).

    Parameters
    ----------
    model
        A :class:`PythonModel` instance or a function taking the model input.
    """
    global _model_set
    if isinstance(model, (str, os.PathLike)) or not (
        isinstance(model, PythonModel) or callable(model)
    ):
        raise InvalidParameter(
            f"set_model takes the model object, a PythonModel or a function (found "
            f"{type(model).__name__}); a file path goes to log_model(python_model=...)"
        )
    _model_set = model
    _tell_mlflow(model)


def _tell_mlflow(model: Any) -> None:
    """When MLflow is the one loading this code file, hand it the model as its set_model does."""
    mlflow_model_module = sys.modules.get("mlflow.models.model")
    if mlflow_model_module is not None:
        mlflow_model_module.__mlflow_model__ = model  # type: ignore[attr-defined]


def _run_model_code(code_path: Path) -> PythonModel:
    """Run a model-code file in a fresh module and return the model it set."""
    global _model_set
    _model_set = None
    _set_through_mlflow()  # forget a model an earlier file handed to MLflow
    import uuid  # loaded when used, not with nbtrack.pyfunc

    name = f"nbtrack_code_model_{uuid.uuid4().hex}"
    spec = importlib.util.spec_from_file_location(name, code_path)
    if spec is None or spec.loader is None:
        raise InvalidParameter(f"{code_path} is not a Python file", path=str(code_path))
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise InvalidParameter(
            f"running the model code {code_path} failed: {type(error).__name__}: {error}; fix "
            "the file (it must run on its own, importing what it uses)",
            path=str(code_path),
        ) from error
    found = _model_set if _model_set is not None else _set_through_mlflow()
    if found is None:
        raise InvalidParameter(
            f"the model code {code_path} set no model; end it with "
            "nbtrack.models.set_model(MyModel()) (or mlflow.models.set_model)",
            path=str(code_path),
        )
    return (
        found
        if isinstance(found, PythonModel) or hasattr(found, "predict")
        else _FunctionModel(found)
    )


def _set_through_mlflow() -> Any:
    """The model a file written for MLflow set with ``mlflow.models.set_model``, if any."""
    module = sys.modules.get("mlflow.models.model")
    found = getattr(module, "__mlflow_model__", None) if module is not None else None
    if module is not None:
        module.__mlflow_model__ = None  # type: ignore[attr-defined]
    return found


# -- saving --------------------------------------------------------------------------------


def get_default_pip_requirements() -> list[str]:
    """The requirements a custom model gets by default (cloudpickle, as MLflow lists it)."""
    return [pinned("cloudpickle")]


def save_model(
    path: str | os.PathLike[str],
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    code_paths: list[str] | None = None,
    conda_env: dict[str, Any] | str | None = None,
    mlflow_model: Model | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    allow_pickle: bool = False,
) -> None:
    """Save a custom Python model to a new local folder, in MLflow's format.

    Parameters
    ----------
    path
        The folder to create; it must not exist or be empty.
    python_model
        The path of a model-code file (``"model.py"``, which ends with ``set_model(...)``);
        or, with ``allow_pickle=True``, a :class:`PythonModel` instance or a function.
    artifacts
        Name → local path or URI (``runs:/…``) of files the model needs; copied into the
        folder and given to ``load_context`` as ``context.artifacts``.
    code_paths
        Files or folders of code the model imports, put on ``sys.path`` at load.
    conda_env, pip_requirements, extra_pip_requirements
        The environment, as for every flavor.
    mlflow_model
        The :class:`~nbtrack.models.Model` to fill in (``log_model`` passes its own).
    signature, input_example
        The signature, inferred from the example (by running the model) when omitted.
    metadata, model_config
        JSON-able dicts stored in ``MLmodel``; ``model_config`` reaches the model as
        ``context.model_config``.
    allow_pickle
        Save a model object with cloudpickle. Loading it runs code from the file, so it is
        refused unless asked for here and again at load; prefer the model-code file.

    Raises
    ------
    InvalidParameter
        No model, a model object without ``allow_pickle``, or a code file that fails.
    """
    code_file = _code_file(python_model, allow_pickle)
    existed = os.path.exists(path)
    target = prepare_target(path)
    try:
        model = mlflow_model if mlflow_model is not None else Model()
        conf, instance = _write_model(target, python_model, code_file, artifacts, code_paths)
        if model_config:
            conf["config"] = model_config
        example = save_example(model, input_example, target)
        if signature is None and example is not None:
            wrapper = _wrap(instance, target, conf, None)
            signature = signature_from_example(
                example[0], example[1], lambda x: wrapper.predict(x, params=example[1])
            )
        model.signature = signature if isinstance(signature, ModelSignature) else None
        model.metadata = metadata
        model.add_flavor("python_function", **conf)
        model.nbtrack_version = __version__
        model.model_size_bytes = folder_size(target)
        model.save(target / "MLmodel")
        write_model_environment(
            target,
            get_default_pip_requirements(),
            conda_env,
            pip_requirements,
            extra_pip_requirements,
        )
    except BaseException:
        import shutil  # loaded when used, not with nbtrack.pyfunc

        shutil.rmtree(target, ignore_errors=True)
        if existed:
            target.mkdir()
        raise


def _code_file(python_model: Any, allow_pickle: bool) -> Path | None:
    if python_model is None:
        raise InvalidParameter(
            "save_model needs python_model: the path of a model-code file such as 'model.py'"
        )
    if isinstance(python_model, (str, os.PathLike)):
        code = Path(python_model).expanduser().absolute()
        if not code.is_file() or code.suffix != ".py":
            raise InvalidParameter(
                f"python_model {os.fspath(python_model)!r} is not a Python file; pass the path "
                "of a .py file that ends with set_model(MyModel())",
                path=str(code),
            )
        return code
    if not allow_pickle:
        raise InvalidParameter(
            f"python_model is a {type(python_model).__name__} object: saving it means pickling "
            "it, and loading a pickle runs code from the file. Put the class in a file that "
            "ends with nbtrack.models.set_model(MyModel()) and pass its path "
            "(python_model='model.py'), or pass allow_pickle=True to pickle it anyway"
        )
    if not (isinstance(python_model, PythonModel) or callable(python_model)):
        raise InvalidParameter(
            f"python_model must be a PythonModel or a function (found "
            f"{type(python_model).__name__})"
        )
    return None


def _write_model(
    target: Path,
    python_model: Any,
    code_file: Path | None,
    artifacts: dict[str, str] | None,
    code_paths: list[str] | None,
) -> tuple[dict[str, Any], Any]:
    """Write the model's files; return its python_function configuration and the model."""
    conf: dict[str, Any] = {}
    if artifacts:
        conf["artifacts"] = _copy_artifacts(artifacts, target)
    conf["cloudpickle_version"] = installed_version("cloudpickle")
    conf["code"] = copy_code_paths(code_paths, target)
    conf["env"] = {"conda": "conda.yaml", "virtualenv": "python_env.yaml"}
    if code_file is not None:
        import shutil  # loaded when used, not with nbtrack.pyfunc

        shutil.copy(code_file, target / code_file.name)
        conf["loader_module"] = CODE_MODEL_LOADER
        conf["model_code_path"] = code_file.name
        add_code_to_path(target, conf)
        model = _run_model_code(target / code_file.name)  # a broken file fails now, not at load
    else:
        model = (
            python_model if isinstance(python_model, PythonModel) else _FunctionModel(python_model)
        )
        _pickle(model, target / PYTHON_MODEL_FILE)
        conf["loader_module"] = PICKLED_MODEL_LOADER
        conf["python_model"] = PYTHON_MODEL_FILE
    conf["python_version"] = PYTHON_VERSION
    conf["streamable"] = False
    return conf, model


def _pickle(model: Any, file: Path) -> None:
    try:
        import cloudpickle
    except ImportError as error:
        raise missing("cloudpickle", "pickle", "pickling a Python model") from error
    with open(file, "wb") as f:
        cloudpickle.dump(model, f)


def _copy_artifacts(artifacts: dict[str, str], target: Path) -> dict[str, dict[str, str]]:
    if not isinstance(artifacts, dict):
        raise InvalidParameter("artifacts must be a dict of name → local path or URI")
    listed = {}
    folder = target / ARTIFACTS_SUBPATH
    folder.mkdir()
    for name, uri in artifacts.items():
        local = download_artifacts(artifact_uri=str(uri), dst_path=str(folder))
        listed[name] = {"path": f"{ARTIFACTS_SUBPATH}/{Path(local).name}", "uri": str(uri)}
    return listed


def log_model(
    name: str | None = None,
    python_model: Any = None,
    artifacts: dict[str, str] | None = None,
    code_paths: list[str] | None = None,
    conda_env: dict[str, Any] | str | None = None,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    metadata: dict[str, Any] | None = None,
    model_config: dict[str, Any] | None = None,
    *,
    artifact_path: str | None = None,
    allow_pickle: bool = False,
) -> ModelInfo:
    """Log a custom Python model into the active run (started if none is active).

    Parameters
    ----------
    name, artifact_path
        Where the model goes in the run's artifacts (``name`` is MLflow 3's spelling).
    registered_model_name
        Also register the model as a new version of this registered model.
    await_registration_for
        Accepted for MLflow compatibility: registration is done when this returns.
    python_model, artifacts, code_paths, conda_env, signature, input_example, \
pip_requirements, extra_pip_requirements, metadata, model_config, allow_pickle
        As in :func:`save_model`.
    """
    return Model.log(
        artifact_path,
        sys.modules[__name__],
        registered_model_name=registered_model_name,
        name=name,
        python_model=python_model,
        artifacts=artifacts,
        code_paths=code_paths,
        conda_env=conda_env,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        metadata=metadata,
        model_config=model_config,
        allow_pickle=allow_pickle,
    )


# -- loading ----------------------------------------------------------------------------------


class PythonModelWrapper:
    """What pyfunc calls: ``predict(data, params)`` → the model's predict, with its context."""

    def __init__(self, python_model: Any, context: PythonModelContext):
        self.python_model = python_model
        self.context = context
        import inspect  # loaded when used, not with nbtrack.pyfunc

        parameters = inspect.signature(python_model.predict).parameters
        self._with_context = "context" in parameters or len(parameters) >= 3

    def predict(self, data: Any, params: dict[str, Any] | None = None) -> Any:
        """The model's predictions."""
        kwargs = {"params": params} if params is not None else {}
        if self._with_context:
            return self.python_model.predict(self.context, data, **kwargs)
        return self.python_model.predict(data, **kwargs)

    def get_raw_model(self) -> Any:
        """The PythonModel instance."""
        return self.python_model


def load_pyfunc(
    folder: Path,
    conf: dict[str, Any],
    allow_pickle: bool = False,
    model_config: dict[str, Any] | None = None,
) -> PythonModelWrapper:
    """Load the custom model of a folder (its python_function configuration in ``conf``).

    Raises
    ------
    UnsafeModelError
        The model was pickled and ``allow_pickle`` is False.
    """
    add_code_to_path(folder, conf)
    if conf.get("model_code_path"):
        model = _run_model_code(folder / Path(conf["model_code_path"]).name)
    else:
        model = _unpickle(folder / conf.get("python_model", PYTHON_MODEL_FILE), allow_pickle)
    return _wrap(model, folder, conf, model_config)


def _wrap(
    model: Any, folder: Path, conf: dict[str, Any], model_config: dict[str, Any] | None
) -> PythonModelWrapper:
    """Give the model its context (``load_context``) and wrap it for pyfunc."""
    artifacts = {
        name: str((folder / entry["path"]).absolute())
        for name, entry in (conf.get("artifacts") or {}).items()
    }
    config = {**(conf.get("config") or {}), **(model_config or {})}
    context = PythonModelContext(artifacts, config)
    if hasattr(model, "load_context"):
        model.load_context(context)
    return PythonModelWrapper(model, context)


def _unpickle(file: Path, allow_pickle: bool) -> Any:
    if not allow_pickle:
        raise UnsafeModelError(
            f"{file} is a cloudpickled Python model: loading it runs code stored in the file. "
            "Pass allow_pickle=True only if you trust where it came from; or re-save the model "
            "from a code file (python_model='model.py')",
            serialization_format="cloudpickle",
            path=str(file),
        )
    import cloudpickle

    with open(file, "rb") as f:
        return cloudpickle.load(f)
