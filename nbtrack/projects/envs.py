"""Where a project's command runs: this environment, or a cached virtual environment.

``--env-manager local`` (the default) runs the command with the launcher's own Python
(its folder first on PATH).
``--env-manager virtualenv`` builds, with ``venv`` and pip, the environment the
project's ``python_env.yaml`` describes (MLflow's format)::

    python: "3.11"
    build_dependencies: [pip]
    dependencies: [scikit-learn==1.5.2, -r requirements.txt]

and keeps it in ``$NBTRACK_ENV_ROOT`` (default ``~/.cache/nbtrack/envs``) under a key
hashed from the Python version, the dependency lists and the files ``-r`` names, so a
second run with the same description starts at once. nbtrack does not run conda or
docker: a project that declares ``conda_env`` or ``docker_env`` runs only when asked to
run in this environment (``--env-manager local``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from nbtrack.errors import ExecutionException, ProjectSpecError
from nbtrack.projects.spec import Project

MANAGERS = ("local", "virtualenv")
ENV_ROOT = "NBTRACK_ENV_ROOT"
READY_FILE = ".nbtrack-env-ready"


def resolve_manager(project: Project, env_manager: str | None) -> str:
    """The environment manager to use: checked against the project's declared environment."""
    if env_manager is not None and env_manager not in MANAGERS:
        raise ProjectSpecError(
            f"--env-manager must be one of {', '.join(MANAGERS)} (found {env_manager!r}); "
            "nbtrack does not run conda or uv environments",
            name=env_manager,
        )
    if project.env_type in ("conda_env", "docker_env") and env_manager != "local":
        tool = "docker" if project.env_type == "docker_env" else "conda"
        found = "" if shutil.which(tool) else f"{tool} is not installed and "
        raise ProjectSpecError(
            f"project {project.directory} declares {project.env_type}; {found}nbtrack does "
            f"not run {tool} environments: pass --env-manager local to run it in this "
            "environment, or describe it in a python_env.yaml and pass --env-manager "
            "virtualenv",
            name=project.env_type,
        )
    return env_manager or "local"


def prepare(project: Project, manager: str) -> dict[str, str]:
    """Environment variables that put the command in its environment (built if needed).

    ``local`` puts this Python's folder first on PATH, so ``python`` in a command is the
    interpreter running nbtrack even when its virtual environment is not activated.
    """
    if manager == "local":
        here = os.path.dirname(sys.executable)
        return {"PATH": f"{here}{os.pathsep}{os.environ.get('PATH', '')}"}
    spec = read_python_env(project.env_file if project.env_type == "python_env" else None)
    folder = ensure_virtualenv(spec, project.directory)
    return {
        "VIRTUAL_ENV": str(folder),
        "PATH": f"{folder / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }


def read_python_env(path: str | None) -> dict[str, Any]:
    """A ``python_env.yaml`` as {python, build_dependencies, dependencies}; None: this Python."""
    current = "{}.{}".format(*sys.version_info[:2])
    if path is None:
        return {"python": current, "build_dependencies": [], "dependencies": []}
    import yaml

    with open(path, encoding="utf-8") as f:
        try:
            doc = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            line = f":{mark.line + 1}" if mark is not None else ""
            raise ProjectSpecError(f"{path}{line}: not valid YAML ({exc})", name=path) from None
    if not isinstance(doc, dict):
        raise ProjectSpecError(f"{path}: a python_env file is a mapping (python:…)", name=path)
    lists = {}
    for key in ("build_dependencies", "dependencies"):
        value = doc.get(key) or []
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProjectSpecError(
                f"{path}: {key} must be a list of pip requirements (found {value!r})", name=path
            )
        lists[key] = value
    return {"python": str(doc.get("python") or current), **lists}


def cache_key(spec: dict[str, Any], project_dir: str) -> str:
    """The cache key: Python version, dependency lists, and the contents of ``-r`` files."""
    files = {}
    for requirement in spec["dependencies"]:
        if requirement.startswith("-r"):
            name = requirement[2:].strip()
            path = Path(project_dir, name)
            files[name] = path.read_text(encoding="utf-8") if path.is_file() else None
    text = json.dumps({**spec, "files": files}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def env_root() -> Path:
    """Where the virtual environments are kept."""
    root = os.environ.get(ENV_ROOT)
    return Path(root) if root else Path.home() / ".cache" / "nbtrack" / "envs"


def ensure_virtualenv(spec: dict[str, Any], project_dir: str) -> Path:
    """The virtual environment for ``spec``: reused from the cache, else built and cached.

    Built in place (venv scripts hold their folder's path) under a lock, so two launches
    of the same project build it once; a folder without the ready mark is rebuilt.
    """
    import fcntl

    folder = env_root() / f"env-{cache_key(spec, project_dir)}"
    if (folder / READY_FILE).is_file():
        return folder
    python = find_python(spec["python"])
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / f".{folder.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (folder / READY_FILE).is_file():  # built by another launch while we waited
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        print(
            f"nbtrack: building a virtual environment (Python {spec['python']}) in {folder}",
            file=sys.stderr,
        )
        packages = spec["build_dependencies"] + spec["dependencies"]
        _call([python, "-m", "venv", *([] if packages else ["--without-pip"]), str(folder)])
        for group in (spec["build_dependencies"], spec["dependencies"]):
            if group:
                pip = [str(folder / "bin" / "python"), "-m", "pip", "install", "--quiet"]
                _call([*pip, *_pip_args(group)], cwd=project_dir)
        (folder / READY_FILE).write_text(json.dumps(spec), encoding="utf-8")
    return folder


def _pip_args(requirements: list[str]) -> list[str]:
    args = []
    for requirement in requirements:
        if requirement.startswith("-r"):
            args += ["-r", requirement[2:].strip()]
        else:
            args.append(requirement)
    return args


def find_python(version: str) -> str:
    """An interpreter of this version: this one, else ``pythonX.Y`` on PATH."""
    current = "{}.{}.{}".format(*sys.version_info[:3])
    if current == version or current.startswith(version + "."):
        return sys.executable
    major_minor = ".".join(version.split(".")[:2])
    found = shutil.which(f"python{major_minor}")
    if found is None or not _reports(found, version):  # a pyenv shim may not run
        raise ExecutionException(
            f"python_env.yaml asks for Python {version}, but python{major_minor} is not on "
            f"PATH (this is Python {current}); install it, or run with --env-manager local"
        )
    return found


def _reports(python: str, version: str) -> bool:
    """Whether the interpreter runs and is of this version."""
    code = "import sys; print('%d.%d.%d' % sys.version_info[:3])"
    done = subprocess.run([python, "-c", code], capture_output=True, text=True, check=False)
    found = done.stdout.strip()
    return done.returncode == 0 and (found == version or found.startswith(version + "."))


def _call(command: list[str], cwd: str | None = None) -> None:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-5:])
        raise ExecutionException(
            f"building the virtual environment failed: `{' '.join(command)}` exited with "
            f"status {done.returncode}:\n{tail}"
        )
