"""The scikit-learn flavor: save, log and load scikit-learn models, as ``mlflow.sklearn``.

``nbtrack.sklearn`` is this module's public face (with ``autolog`` beside it).

The model folder is MLflow's format: ``mlflow.pyfunc.load_model`` and
``mlflow.sklearn.load_model`` read what this module writes, and this module reads what
MLflow writes. Models are stored with skops by default, so loading one never runs code
the file brings along; see :mod:`nbtrack.models.sklearn` for the trust rules.
"""

from __future__ import annotations

import os
import shutil
import sys
import warnings
from typing import Any

from nbtrack.models import sklearn as _flavor
from nbtrack.models.model import (
    PYTHON_VERSION,
    Model,
    ModelInfo,
    folder_size,
    pinned,
    prepare_target,
)
from nbtrack.models.packaging import (
    add_code_to_path,
    copy_code_paths,
    copy_extra_files,
    write_model_environment,
)
from nbtrack.models.signature import ModelSignature, save_example, signature_from_example
from nbtrack.models.uri import local_model_path
from nbtrack.version import __version__

FLAVOR_NAME = _flavor.FLAVOR_NAME
SERIALIZATION_FORMAT_SKOPS = _flavor.SERIALIZATION_FORMAT_SKOPS
SERIALIZATION_FORMAT_PICKLE = _flavor.SERIALIZATION_FORMAT_PICKLE
SERIALIZATION_FORMAT_CLOUDPICKLE = _flavor.SERIALIZATION_FORMAT_CLOUDPICKLE
SUPPORTED_SERIALIZATION_FORMATS = _flavor.SUPPORTED_SERIALIZATION_FORMATS

__all__ = [
    "FLAVOR_NAME",
    "SERIALIZATION_FORMAT_CLOUDPICKLE",
    "SERIALIZATION_FORMAT_PICKLE",
    "SERIALIZATION_FORMAT_SKOPS",
    "SUPPORTED_SERIALIZATION_FORMATS",
    "get_default_pip_requirements",
    "load_model",
    "log_model",
    "save_model",
]


def get_default_pip_requirements(
    include_cloudpickle: bool = False, include_skops: bool = False
) -> list[str]:
    """The pinned requirements a saved model gets by default (versions in use now)."""
    reqs = [pinned("scikit-learn", "sklearn"), pinned("numpy"), pinned("scipy"), pinned("pandas")]
    if include_cloudpickle:
        reqs.append(pinned("cloudpickle"))
    if include_skops:
        reqs.append(pinned("skops"))
    return sorted(reqs)


def save_model(
    sk_model: Any,
    path: str | os.PathLike[str],
    *,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    mlflow_model: Model | None = None,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    extra_files: list[str] | None = None,
) -> None:
    """Save a fitted scikit-learn model to a new local folder, in MLflow's model format.

    Parameters
    ----------
    sk_model
        The fitted estimator (or pipeline, search…).
    path
        The folder to create; it must not exist or be empty.
    serialization_format
        ``"skops"`` (default: loading never runs code from the file), ``"pickle"`` or
        ``"cloudpickle"`` (loading those needs ``allow_pickle=True``).
    signature
        A :class:`~nbtrack.models.ModelSignature`; inferred from ``input_example`` when
        omitted; ``False`` saves no signature.
    input_example
        A few rows of valid input (DataFrame, array, dict…), or ``(data, params)``.
    pip_requirements, extra_pip_requirements
        Replace, or add to, the default pinned requirements (a list or a requirements file).
    pyfunc_predict_fn
        The method pyfunc's ``predict`` calls: ``predict``, ``predict_proba``,
        ``predict_log_proba``, ``predict_joint_log_proba`` or ``score``.
    metadata
        Any JSON-able dict, stored in ``MLmodel``.
    skops_trusted_types
        Types of your own the skops file may hold (recorded for MLflow's loader; nbtrack's
        loader still needs them passed as ``trusted_types``).
    mlflow_model
        The :class:`~nbtrack.models.Model` to fill in (``log_model`` passes its own).
    conda_env
        A conda environment (dict or YAML file) to write as ``conda.yaml`` instead of the
        default one; its pip list becomes ``requirements.txt``.
    code_paths
        Files or folders of code the model needs (custom transformers…), copied under
        ``code/`` and put on ``sys.path`` when the model loads.
    extra_files
        Files to ship with the model, copied under ``extra_files/`` and listed in ``MLmodel``.

    Raises
    ------
    UnsafeModelError
        The model holds types skops would not load without trusting them.
    """
    import sklearn

    _flavor.check_format(serialization_format)
    existed = os.path.exists(path)
    target = prepare_target(path)
    try:
        model = mlflow_model if mlflow_model is not None else Model()
        example = save_example(model, input_example, target)
        if signature is None and example is not None:
            signature = _infer_from_example(sk_model, *example)
        model.signature = signature if isinstance(signature, ModelSignature) else None
        model.metadata = metadata
        model_file, trusted = _flavor.dump(
            sk_model, target, serialization_format, skops_trusted_types
        )
        code = copy_code_paths(code_paths, target)
        extra = copy_extra_files(extra_files, target)
        if hasattr(sk_model, pyfunc_predict_fn):
            model.add_flavor(
                "python_function",
                loader_module="mlflow.sklearn",
                model_path=model_file,
                predict_fn=pyfunc_predict_fn,
                env={"conda": "conda.yaml", "virtualenv": "python_env.yaml"},
                **({"code": code} if code else {}),
                python_version=PYTHON_VERSION,
            )
        model.add_flavor(
            FLAVOR_NAME,
            pickled_model=model_file,
            sklearn_version=sklearn.__version__,
            serialization_format=serialization_format,
            code=code,
            skops_trusted_types=trusted,
            **extra,
        )
        model.nbtrack_version = __version__
        model.model_size_bytes = folder_size(target)
        model.save(target / "MLmodel")
        defaults = get_default_pip_requirements(
            include_cloudpickle=serialization_format == SERIALIZATION_FORMAT_CLOUDPICKLE,
            include_skops=serialization_format == SERIALIZATION_FORMAT_SKOPS,
        )
        write_model_environment(
            target, defaults, conda_env, pip_requirements, extra_pip_requirements
        )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        if existed:
            target.mkdir()
        raise


def _infer_from_example(sk_model: Any, data: Any, params: Any) -> ModelSignature | None:
    try:
        return signature_from_example(data, params, sk_model.predict)
    except Exception as error:  # MLflow also saves the model without a signature here
        warnings.warn(
            f"nbtrack: could not infer the signature from the input example ({error}); the "
            "model is saved without one: pass signature=infer_signature(X, model.predict(X))",
            stacklevel=4,
        )
        return None


def log_model(
    sk_model: Any,
    artifact_path: str | None = None,
    *,
    name: str | None = None,
    serialization_format: str = SERIALIZATION_FORMAT_SKOPS,
    registered_model_name: str | None = None,
    signature: ModelSignature | bool | None = None,
    input_example: Any = None,
    await_registration_for: int | None = None,
    pip_requirements: list[str] | str | None = None,
    extra_pip_requirements: list[str] | str | None = None,
    pyfunc_predict_fn: str = "predict",
    metadata: dict[str, Any] | None = None,
    skops_trusted_types: list[str] | None = None,
    conda_env: dict[str, Any] | str | None = None,
    code_paths: list[str] | None = None,
    extra_files: list[str] | None = None,
) -> ModelInfo:
    """Log a fitted scikit-learn model into the active run (started if none is active).

    The model folder goes to the run's artifacts under ``name`` (default ``"model"``), and
    the run's ``mlflow.log-model.history`` tag records it, as in MLflow 2.

    Parameters
    ----------
    sk_model
        The fitted estimator.
    artifact_path, name
        Where the model goes in the run's artifacts (``name`` is MLflow 3's spelling;
        give one of them).
    registered_model_name
        Also register the model as a new version of this registered model (created if
        needed); the version is in ``ModelInfo.registered_model_version``.
    await_registration_for
        Accepted for MLflow compatibility: registration is done when this returns.
    serialization_format, signature, input_example, pip_requirements, \
extra_pip_requirements, pyfunc_predict_fn, metadata, skops_trusted_types, conda_env, \
code_paths, extra_files
        As in :func:`save_model`.

    Returns
    -------
    ModelInfo
        With ``model_uri`` (``runs:/<run_id>/<name>``), ``run_id``, ``signature``, ``flavors``…
    """
    return Model.log(
        artifact_path,
        sys.modules[__name__],
        registered_model_name=registered_model_name,
        name=name,
        sk_model=sk_model,
        serialization_format=serialization_format,
        signature=signature,
        input_example=input_example,
        pip_requirements=pip_requirements,
        extra_pip_requirements=extra_pip_requirements,
        pyfunc_predict_fn=pyfunc_predict_fn,
        metadata=metadata,
        skops_trusted_types=skops_trusted_types,
        conda_env=conda_env,
        code_paths=code_paths,
        extra_files=extra_files,
    )


def load_model(
    model_uri: str,
    dst_path: str | None = None,
    *,
    trusted_types: list[str] | None = None,
    allow_pickle: bool = False,
) -> Any:
    """Load the fitted scikit-learn estimator of a saved or logged model.

    Parameters
    ----------
    model_uri
        ``runs:/<run_id>/<path>``, ``models:/<name>/<version>``, ``models:/<name>@<alias>``,
        ``models:/<name>/<stage>``, ``models:/<name>/latest``, a folder or a ``file://`` URI.
    dst_path
        Copy the model folder into this existing folder first.
    trusted_types
        Extra types to trust in a skops file (classes of scikit-learn, numpy and scipy
        are trusted already).
    allow_pickle
        Load a pickle or cloudpickle file (it runs the code it holds: only for files
        whose origin you trust).

    Raises
    ------
    UnsafeModelError
        The file holds untrusted types, or is a pickle and ``allow_pickle`` is False.
    """
    folder = local_model_path(model_uri, dst_path)
    meta = Model.load(folder)
    add_code_to_path(folder, meta.flavors.get(FLAVOR_NAME, {}))
    return _flavor.load_model_from_folder(folder, meta, trusted_types, allow_pickle)
