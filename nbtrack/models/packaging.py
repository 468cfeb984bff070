"""What a model folder carries besides the model: code, extra files and its environment.

MLflow's ``save_model``/``log_model`` arguments, written where MLflow writes them:

* ``code_paths`` – files or folders copied under ``code/``; the flavor's ``code`` key names
  that folder and loaders put it on ``sys.path`` before loading;
* ``extra_files`` – files copied under ``extra_files/``, listed in the flavor's
  ``extra_files`` key as ``[{"path": "extra_files/<name>"}]``;
* ``conda_env`` – a dict or a YAML file written as ``conda.yaml``, its pip list (with an
  ``mlflow`` pin added) as ``requirements.txt``; or else ``pip_requirements`` /
  ``extra_pip_requirements`` (replacing or extending a flavor's defaults).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from nbtrack.errors import ArtifactNotFound, InvalidParameter
from nbtrack.models.model import (
    CONDA_ENV_FILE_NAME,
    _yaml_dump,
    requirements,
    write_environment,
)

CODE_SUBPATH = "code"
EXTRA_FILES_KEY = "extra_files"

__all__ = [
    "CODE_SUBPATH",
    "EXTRA_FILES_KEY",
    "add_code_to_path",
    "copy_code_paths",
    "copy_extra_files",
    "write_model_environment",
]


def copy_code_paths(code_paths: list[Any] | None, target: Path) -> str | None:
    """Copy code files and folders under ``target/code``; return ``"code"`` (None if none)."""
    import shutil  # loaded when a model is packaged, not at import

    if code_paths is None:
        return None
    if not isinstance(code_paths, list):
        raise InvalidParameter(
            f"code_paths must be a list of files or folders (found {type(code_paths).__name__})"
        )
    for entry in code_paths:
        source = Path(entry).expanduser().absolute()
        dest = target / CODE_SUBPATH / source.name
        if source.is_file():
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, dest)
        elif source.is_dir():
            shutil.copytree(source, dest, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            raise ArtifactNotFound(
                f"code path {os.fspath(entry)!r} does not exist; pass files or folders of "
                "Python code the model needs",
                path=str(source),
            )
    return CODE_SUBPATH


def copy_extra_files(extra_files: list[Any] | None, target: Path) -> dict[str, Any]:
    """Copy extra files under ``target/extra_files``; return the flavor's config entry."""
    if not extra_files:
        return {}
    if not isinstance(extra_files, list):
        raise InvalidParameter(
            f"extra_files must be a list of file paths (found {type(extra_files).__name__})"
        )
    listed = []
    for entry in extra_files:
        source = Path(str(entry).removeprefix("file://")).expanduser().absolute()
        if not source.is_file():
            raise ArtifactNotFound(
                f"extra file {os.fspath(entry)!r} does not exist; pass paths of local files",
                path=str(source),
            )
        dest = target / EXTRA_FILES_KEY / source.name
        dest.parent.mkdir(parents=True, exist_ok=True)
        import shutil  # loaded when a model is packaged, not at import

        shutil.copy(source, dest)
        listed.append({"path": f"{EXTRA_FILES_KEY}/{source.name}"})
    return {EXTRA_FILES_KEY: listed}


def write_model_environment(
    target: Path,
    defaults: list[str],
    conda_env: dict[str, Any] | str | os.PathLike[str] | None,
    pip_requirements: list[str] | str | None,
    extra_pip_requirements: list[str] | str | None,
) -> None:
    """Write ``requirements.txt``, ``python_env.yaml`` and ``conda.yaml`` as MLflow does.

    With ``conda_env`` the user's environment is written as given (its pip list gains an
    ``mlflow`` pin); otherwise the requirements come from the defaults and the pip arguments.
    """
    if conda_env is None:
        write_environment(target, requirements(defaults, pip_requirements, extra_pip_requirements))
        return
    if pip_requirements is not None or extra_pip_requirements is not None:
        raise InvalidParameter(
            "pass conda_env, or pip_requirements / extra_pip_requirements, not both: each "
            "describes the whole environment"
        )
    env = _read_conda_env(conda_env)
    pip = requirements(_pip_deps(env), None, None)
    write_environment(target, pip)
    deps = [d for d in env.get("dependencies", []) if not _is_pip_list(d)]
    env = {**env, "dependencies": [*deps, {"pip": pip}]}
    (target / CONDA_ENV_FILE_NAME).write_text(_yaml_dump(env), encoding="utf-8")


def _read_conda_env(conda_env: dict[str, Any] | str | os.PathLike[str]) -> dict[str, Any]:
    if isinstance(conda_env, dict):
        return conda_env
    if isinstance(conda_env, (str, os.PathLike)):
        import yaml

        loaded = yaml.safe_load(Path(conda_env).read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            return loaded
    raise InvalidParameter(
        "conda_env must be a dict or the path of a conda YAML file with a 'dependencies' "
        f"list (found {conda_env!r})"
    )


def _is_pip_list(dep: Any) -> bool:
    return isinstance(dep, dict) and "pip" in dep


def _pip_deps(env: dict[str, Any]) -> list[str]:
    for dep in env.get("dependencies", []):
        if _is_pip_list(dep):
            return [str(r) for r in dep["pip"]]
    return []


def add_code_to_path(folder: Path, conf: dict[str, Any]) -> None:
    """Put a model's ``code/`` folder first on ``sys.path`` (MLflow's loaders do the same)."""
    code = conf.get("code")
    if code:
        path = str(folder / code)
        if path not in sys.path:
            sys.path.insert(0, path)
