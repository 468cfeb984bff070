"""The model folder: its ``MLmodel`` file (:class:`Model`), environment files and input example.

The layout is MLflow's own (``mlflow.models.Model``), so MLflow's loaders read a folder nbtrack
wrote and the other way round::

    model/
        MLmodel                      flavors, signature, run id, creation time, sizes
        model.skops | model.pkl      the estimator
        requirements.txt             pinned versions of what the model needs
        python_env.yaml, conda.yaml  the Python version and how to rebuild the environment
        input_example.json           the example in MLflow's JSON form, if one was given
        serving_input_example.json   the same as a request body for a model server

Versions are read from the imported modules (``sklearn.__version__``…) instead of from a
``pip`` subprocess, which is why saving takes milliseconds.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any

from nbtrack import context, registry_fluent, session, tag_keys, tracking
from nbtrack.artifacts import LocalArtifacts, check_relative
from nbtrack.entities import LoggedModelOutput, LoggedModelStatus
from nbtrack.errors import (
    ArtifactNotFound,
    InvalidParameter,
    InvalidState,
    ModelFileError,
    ResourceAlreadyExists,
)
from nbtrack.models.signature import ModelSignature, read_example
from nbtrack.models.uri import local_model_path
from nbtrack.registry.validation import model_name
from nbtrack.validation import MAX_TAG_VALUE_LENGTH

MLMODEL_FILE_NAME = "MLmodel"
REQUIREMENTS_FILE_NAME = "requirements.txt"
PYTHON_ENV_FILE_NAME = "python_env.yaml"
CONDA_ENV_FILE_NAME = "conda.yaml"
EXAMPLE_FILE_NAME = "input_example.json"
SERVING_EXAMPLE_FILE_NAME = "serving_input_example.json"
# The MLflow release whose model format nbtrack writes; MLflow's loaders read it as their own.
MLFLOW_VERSION = "3.17.2"
PYTHON_VERSION = "{}.{}.{}".format(*sys.version_info[:3])
_NEW_UUID = object()
_WRITTEN_WHEN_SET = ("signature", "saved_input_example_info", "metadata", "model_size_bytes")


class ModelInfo:
    """What ``log_model`` returns: where the model is and what it holds (MLflow's ModelInfo).

    A plain class rather than a dataclass, so that ``import nbtrack.pyfunc`` does not pay for
    :mod:`dataclasses`; compared and shown field by field all the same.
    """

    _FIELDS = (
        "artifact_path",
        "flavors",
        "model_uri",
        "model_uuid",
        "run_id",
        "saved_input_example_info",
        "signature",
        "utc_time_created",
        "mlflow_version",
        "metadata",
        "registered_model_version",
        "env_vars",
        "prompts",
        "model_id",
    )

    def __init__(
        self,
        artifact_path: str | None,
        flavors: dict[str, Any],
        model_uri: str,
        model_uuid: str | None,
        run_id: str | None,
        saved_input_example_info: dict[str, Any] | None,
        signature: ModelSignature | None,
        utc_time_created: str,
        mlflow_version: str | None,
        metadata: dict[str, Any] | None = None,
        registered_model_version: int | None = None,
        env_vars: list[str] | None = None,
        prompts: list[str] | None = None,
        model_id: str | None = None,
    ) -> None:
        self.artifact_path = artifact_path
        self.flavors = flavors
        self.model_uri = model_uri
        self.model_uuid = model_uuid
        self.run_id = run_id
        self.saved_input_example_info = saved_input_example_info
        self.signature = signature
        self.utc_time_created = utc_time_created
        self.mlflow_version = mlflow_version
        self.metadata = metadata
        self.registered_model_version = registered_model_version
        self.env_vars = env_vars
        self.prompts = prompts
        self.model_id = model_id

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._FIELDS)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self._values() == other._values()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]  # mutable, as a dataclass with eq

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._FIELDS)
        return f"ModelInfo({shown})"


class Model:
    """The ``MLmodel`` file of a model folder: flavors, signature and where the model came from.

    Unknown keys (``nbtrack_version``, keys of newer MLflow releases) are kept as attributes
    and written back unchanged.
    """

    nbtrack_version: str  # set by nbtrack's save_model; MLflow keeps it as an extra key

    def __init__(
        self,
        artifact_path: str | None = None,
        run_id: str | None = None,
        utc_time_created: str | None = None,
        flavors: dict[str, Any] | None = None,
        signature: ModelSignature | None = None,
        saved_input_example_info: dict[str, Any] | None = None,
        model_uuid: Any = _NEW_UUID,
        mlflow_version: str | None = MLFLOW_VERSION,
        metadata: dict[str, Any] | None = None,
        model_size_bytes: int | None = None,
        model_id: str | None = None,
        prompts: list[str] | None = None,
        **kwargs: Any,
    ):
        self.run_id = run_id
        self.artifact_path = artifact_path
        self.utc_time_created = str(
            utc_time_created or datetime.now(timezone.utc).replace(tzinfo=None)
        )
        self.flavors = flavors if flavors is not None else {}
        self.model_uuid = _new_uuid() if model_uuid is _NEW_UUID else model_uuid
        self.mlflow_version = mlflow_version
        self.prompts = prompts
        self.model_id = model_id
        self.signature = signature
        self.saved_input_example_info = saved_input_example_info
        self.metadata = metadata
        self.model_size_bytes = model_size_bytes
        self.__dict__.update(kwargs)

    def get_input_schema(self) -> Any:
        """The input Schema, or None."""
        return self.signature.inputs if self.signature is not None else None

    def get_output_schema(self) -> Any:
        """The output Schema, or None."""
        return self.signature.outputs if self.signature is not None else None

    def get_params_schema(self) -> Any:
        """The ParamSchema, or None."""
        return self.signature.params if self.signature is not None else None

    def add_flavor(self, name: str, **params: Any) -> Model:
        """Add (or replace) a flavor's configuration."""
        self.flavors[name] = params
        return self

    def get_model_info(self) -> ModelInfo:
        """The :class:`ModelInfo` of this model, with its ``runs:/`` URI."""
        return ModelInfo(
            artifact_path=self.artifact_path,
            flavors=self.flavors,
            model_uri=f"runs:/{self.run_id}/{self.artifact_path}",
            model_uuid=self.model_uuid,
            run_id=self.run_id,
            saved_input_example_info=self.saved_input_example_info,
            signature=self.signature,
            utc_time_created=self.utc_time_created,
            mlflow_version=self.mlflow_version,
            metadata=self.metadata,
            prompts=self.prompts,
            model_id=self.model_id,
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``MLmodel`` content, with MLflow's keys; unset optional keys left out."""
        out = {k: v for k, v in self.__dict__.items() if k not in _WRITTEN_WHEN_SET}
        for key in _WRITTEN_WHEN_SET:
            if (value := getattr(self, key)) is not None:
                out[key] = value
        if self.signature is not None:
            out["signature"] = self.signature.to_dict()
            out["is_signature_from_type_hint"] = False
            out["type_hint_from_example"] = False
        for key in ("artifact_path", "run_id", "mlflow_version"):
            if out.get(key) is None:
                out.pop(key, None)
        return out

    def to_yaml(self) -> str:
        """The ``MLmodel`` YAML text."""
        return _yaml_dump(self.to_dict())

    def to_json(self) -> str:
        """The ``MLmodel`` content as JSON."""
        return json.dumps(self.to_dict())

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the ``MLmodel`` file."""
        Path(path).write_text(self.to_yaml(), encoding="utf-8")

    def __str__(self) -> str:
        return self.to_yaml()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and self.to_dict() == other.to_dict()

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Model:
        """Read a model's ``MLmodel``: a folder, the file itself, or a model URI."""
        text = os.fspath(path)
        if text.startswith(("runs:", "models:")):
            text = str(local_model_path(text))
        file = Path(text)
        if file.name != MLMODEL_FILE_NAME:
            file = file / MLMODEL_FILE_NAME
        if not file.is_file():
            raise ArtifactNotFound(
                f"no {MLMODEL_FILE_NAME} file at {file}: the path is not a saved model folder; "
                "pass the folder that save_model wrote (or log_model's model_uri)",
                path=str(file),
            )
        import yaml

        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: ~20x faster
        try:
            content = yaml.load(file.read_text(encoding="utf-8"), Loader=loader)
        except (yaml.YAMLError, UnicodeDecodeError) as error:
            raise ModelFileError(
                f"{file} is not valid YAML ({' '.join(str(error).split())}); restore the "
                "model folder from a copy or save the model again",
                path=str(file),
            ) from error
        if not isinstance(content, dict):
            raise ModelFileError(f"{file} is not an MLmodel file (no YAML mapping)", path=str(file))
        try:
            return cls.from_dict(content)
        except ModelFileError as error:
            raise ModelFileError(f"{file}: {error}", path=str(file)) from error

    @classmethod
    def from_dict(cls, model_dict: dict[str, Any]) -> Model:
        """Build a Model from the ``MLmodel`` content.

        Raises
        ------
        ModelFileError
            A key is not a name, ``flavors`` is not a mapping of mappings, or the signature
            does not parse.
        """
        content = dict(model_dict)
        content.pop("is_signature_from_type_hint", None)
        content.pop("type_hint_from_example", None)
        _check_keys(content)
        signature = content.get("signature")
        if isinstance(signature, dict):
            content["signature"] = _signature(signature)
        elif signature is not None:
            raise ModelFileError(f"signature must be a mapping (found {signature!r})")
        content.setdefault("model_uuid", None)
        content.setdefault("mlflow_version", None)
        return cls(**content)

    def load_input_example(self, path: str | os.PathLike[str]) -> Any:
        """The input example saved in the model folder at ``path``, or None."""
        return read_example(self, Path(path))

    @classmethod
    def log(
        cls,
        artifact_path: str | None,
        flavor: Any,
        registered_model_name: str | None = None,
        run_id: str | None = None,
        name: str | None = None,
        **kwargs: Any,
    ) -> ModelInfo:
        """Save a model with ``flavor.save_model`` into a run's artifacts; see ``log_model``."""
        if name is not None and artifact_path is not None:
            raise InvalidParameter(
                "pass either name or artifact_path (the older name of the same thing), not both"
            )
        path = check_relative(name or artifact_path or "model", "name")
        if not path:
            raise InvalidParameter("the model name must not be empty; try name='model'")
        if registered_model_name is not None:
            model_name(registered_model_name)  # a bad name fails before anything is written
        run_id = run_id or session.active_run_id() or tracking.start_run().info.run_id
        client = session.client()
        run = client.get_run(run_id)
        if run.info.lifecycle_stage != "active":
            raise InvalidState(
                f"run {run_id} is deleted; restore it before logging a model to it", run_id=run_id
            )
        artifacts = LocalArtifacts(run.info.artifact_uri)
        root, target = artifacts.root, artifacts.path(path)  # never through a link outside
        if target.exists():
            raise ResourceAlreadyExists(
                f"run {run_id} already has an artifact at {path!r}; log the model under another "
                "name (name='model-2')",
                run_id=run_id,
                path=path,
            )
        logged = _new_logged_model(client, run, path, target)
        model = cls(artifact_path=path, run_id=run_id, model_id=logged.model_id)
        try:
            _save_into(
                root, target, lambda tmp: flavor.save_model(path=tmp, mlflow_model=model, **kwargs)
            )
            _record_logged_model(client, run_id, model)
        except BaseException:
            import shutil

            shutil.rmtree(target, ignore_errors=True)
            client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
            raise
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
        info = model.get_model_info()
        if registered_model_name is not None:
            version = registry_fluent.register_model(info.model_uri, registered_model_name)
            info.registered_model_version = int(version.version)
        return info


def _check_keys(content: dict[Any, Any]) -> None:
    """Refuse MLmodel content that cannot become a Model's attributes."""
    for key in content:
        if not isinstance(key, str) or not key.isidentifier() or key == "self":
            raise ModelFileError(f"MLmodel has a key nbtrack cannot read: {key!r}")
    flavors = content.get("flavors")
    if flavors is not None and not (
        isinstance(flavors, dict) and all(isinstance(v, dict) for v in flavors.values())
    ):
        raise ModelFileError(
            f"flavors must map each flavor name to its settings (found {flavors!r})"
        )
    info = content.get("saved_input_example_info")
    if info is not None and not isinstance(info, dict):
        raise ModelFileError(f"saved_input_example_info must be a mapping (found {info!r})")


def _signature(signature: dict[str, Any]) -> ModelSignature:
    try:
        return ModelSignature.from_dict(signature)
    except Exception as error:  # JSON, key and type errors of whatever the file holds
        raise ModelFileError(
            f"the signature does not parse ({type(error).__name__}: {error})"
        ) from error


def _new_uuid() -> str:
    import uuid

    return uuid.uuid4().hex


def _new_logged_model(client: Any, run: Any, name: str, target: Path) -> Any:
    """The PENDING LoggedModel (MLflow 3) whose files are the model folder in the run."""
    logged = client._create_logged_model(
        run.info.experiment_id,
        name,
        run.info.run_id,
        tags=context.run_tags(),
        artifact_location=target.as_uri(),
    )
    client.log_outputs(run.info.run_id, [LoggedModelOutput(logged.model_id, 0)])
    session.add_model_output(run.info.run_id, logged.model_id, 0)
    session.record_logged_model(logged.model_id)
    return logged


def _save_into(root: Path, target: Path, save: Any) -> None:
    """Write a model folder next to its final place, then move it there in one rename."""
    import shutil  # shutil and tempfile load when a model is saved, not at import
    import tempfile

    from nbtrack.artifacts import staging_prefix, sweep_stale_staging

    root.mkdir(parents=True, exist_ok=True)
    sweep_stale_staging(root)  # what killed writers left
    staging = Path(tempfile.mkdtemp(dir=root, prefix=staging_prefix()))
    try:
        save(staging / "model")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.rename(staging / "model", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _record_logged_model(client: Any, run_id: str, model: Model) -> None:
    """Append the model to the run's ``mlflow.log-model.history`` tag, as MLflow 2 did."""
    entry = {
        k: v
        for k, v in model.to_dict().items()
        if k in ("run_id", "utc_time_created", "artifact_path", "model_uuid")
    }
    entry["flavors"] = model.flavors
    previous = client.get_run(run_id).data.tags.get(tag_keys.LOGGED_MODELS)
    history = [*json.loads(previous), entry] if previous else [entry]
    value = json.dumps(history)
    while len(value) > MAX_TAG_VALUE_LENGTH and len(history) > 1:
        history = history[1:]  # the tag has a size limit: the oldest entries give way
        value = json.dumps(history)
    client.set_tag(run_id, tag_keys.LOGGED_MODELS, value)


def prepare_target(path: str | os.PathLike[str]) -> Path:
    """The folder ``save_model`` writes to, which must not exist or be empty (as in MLflow)."""
    target = Path(path).expanduser().absolute()
    if target.exists() and any(target.iterdir()):
        raise ResourceAlreadyExists(
            f"{target} already exists and is not empty; save the model to a new folder",
            path=str(target),
        )
    target.mkdir(parents=True, exist_ok=True)
    return target


def folder_size(path: Path) -> int:
    """Total size in bytes of the files under ``path``."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


# -- environment -------------------------------------------------------------------------


def installed_version(package: str, module: str | None = None) -> str | None:
    """The version in use: the imported module's ``__version__``, else the installed one."""
    loaded = sys.modules.get(module or package)
    version = getattr(loaded, "__version__", None)
    if not isinstance(version, str):
        version = _distribution_version(package)
    return version.split("+")[0] if version else None


@cache
def _distribution_version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def pinned(package: str, module: str | None = None) -> str:
    """``package==version`` for the version in use (the bare name if it is not installed)."""
    version = installed_version(package, module)
    return f"{package}=={version}" if version else package


def requirements(
    defaults: list[str],
    pip_requirements: list[str] | str | None,
    extra_pip_requirements: list[str] | str | None,
) -> list[str]:
    """The requirements to write: MLflow's rules for ``pip_requirements`` and ``extra_…``."""
    if pip_requirements is not None and extra_pip_requirements is not None:
        raise InvalidParameter(
            "pass pip_requirements (replaces the defaults) or extra_pip_requirements (adds to "
            "them), not both"
        )
    if pip_requirements is not None:
        chosen = _requirement_list(pip_requirements)
    else:
        chosen = [*defaults, *_requirement_list(extra_pip_requirements or [])]
    if not any(_requirement_name(r) in ("mlflow", "mlflow-skinny") for r in chosen):
        chosen.insert(0, f"mlflow=={MLFLOW_VERSION}")
    return list(dict.fromkeys(chosen))


def _requirement_list(value: list[str] | str) -> list[str]:
    if isinstance(value, (str, os.PathLike)):
        lines = Path(value).read_text(encoding="utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    return [str(r) for r in value]


def _requirement_name(requirement: str) -> str:
    for separator in ("[", "=", "<", ">", "~", "!", ";", " "):
        requirement = requirement.split(separator)[0]
    return requirement.strip().lower()


def _yaml_dump(content: dict[str, Any], sort_keys: bool = True) -> str:
    """YAML as ``yaml.safe_dump`` writes it, with libyaml's emitter when it is installed."""
    import yaml

    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    return yaml.dump(content, Dumper=dumper, sort_keys=sort_keys, default_flow_style=False)


def write_environment(path: Path, pip_requirements: list[str]) -> None:
    """Write ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` as MLflow does."""
    (path / REQUIREMENTS_FILE_NAME).write_text("\n".join(pip_requirements), encoding="utf-8")
    build = [pinned(p) for p in ("pip", "setuptools", "wheel")]
    python_env = {
        "python": PYTHON_VERSION,
        "build_dependencies": build,
        "dependencies": [f"-r {REQUIREMENTS_FILE_NAME}"],
    }
    (path / PYTHON_ENV_FILE_NAME).write_text(
        _yaml_dump(python_env, sort_keys=False), encoding="utf-8"
    )
    pip_version = installed_version("pip")
    conda = {
        "channels": ["conda-forge"],
        "dependencies": [
            f"python={PYTHON_VERSION}",
            f"pip<={pip_version}" if pip_version else "pip",
            {"pip": pip_requirements},
        ],
        "name": "mlflow-env",
    }
    (path / CONDA_ENV_FILE_NAME).write_text(_yaml_dump(conda), encoding="utf-8")


def get_model_info(model_uri: str) -> ModelInfo:
    """The :class:`ModelInfo` of a saved or logged model, from its ``MLmodel``."""
    model = Model.load(local_model_path(model_uri))
    info = model.get_model_info()
    if model_uri.startswith("runs:/"):
        info.model_uri = model_uri
    return info
