"""The Binder configuration (binder/) builds an environment that runs every demo notebook.

Binder (repo2docker) installs ``binder/requirements.txt`` into a Python of the version in
``binder/runtime.txt``, runs ``binder/postBuild`` from the repository's root, and opens
JupyterLab. The slow test does the same in a fresh virtual environment: only the binder/
files decide what is installed (from the package index, as Binder does), and nbclient
then runs each notebook in that environment's kernel. It needs the package index (a few
minutes of downloads and installs) and is skipped, saying so, when the index cannot be
reached.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# What building and running nbtrack from a source tree needs (tests/ and the rest are not).
SOURCE_TREE = ("pyproject.toml", "README.md", "nbtrack", "widgets", "binder", "notebooks")
# pip's words when it could not reach the package index at all.
NETWORK_ERRORS = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "Connection refused",
    "Max retries exceeded",
    "ConnectTimeoutError",
)

RUN_NOTEBOOKS = """
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

for path in map(Path, sys.argv[1:]):
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(path.parent)}}).execute()
    print("ran", path.name, flush=True)
"""


def test_requirements_are_all_pinned() -> None:
    lines = [
        line.split("#")[0].strip()
        for line in (BINDER / "requirements.txt").read_text().splitlines()
    ]
    requirements = [line for line in lines if line]
    assert requirements, "binder/requirements.txt lists nothing"
    for line in requirements:
        assert re.fullmatch(r"[A-Za-z0-9._-]+==[0-9][A-Za-z0-9.]*", line), (
            f"{line!r} is not pinned as name==version"
        )
    names = {line.split("==")[0].lower() for line in requirements}
    # JupyterLab must be there to open the notebooks, and the widget front ends with it.
    assert {"jupyterlab", "ipywidgets", "anywidget", "plotly", "scikit-learn"} <= names


def test_requirements_satisfy_what_nbtrack_declares() -> None:
    # postBuild installs nbtrack with --no-deps: its dependencies and the sklearn and notebook
    # extras must all be pinned here, at versions their specifiers accept.
    tomllib = pytest.importorskip("tomllib")
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [
        *project["dependencies"],
        *project["optional-dependencies"]["sklearn"],
        *project["optional-dependencies"]["notebook"],
    ]
    pins = {}
    for line in (BINDER / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[canonicalize_name(name)] = version
    for text in declared:
        requirement = Requirement(text)
        name = canonicalize_name(requirement.name)
        assert name in pins, f"binder/requirements.txt does not pin {requirement.name}"
        assert requirement.specifier.contains(pins[name]), (
            f"{requirement.name}=={pins[name]} in binder/requirements.txt is outside {text!r}"
        )


def test_runtime_and_post_build() -> None:
    assert (BINDER / "runtime.txt").read_text().strip() == "python-3.11"
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK), "binder/postBuild must be executable"
    lines = [
        line
        for line in post_build.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "set -e"
    assert any(re.search(r"pip install (--no-deps )?\.$", line) for line in lines)


def _environment(venv: Path, data_dir: Path) -> dict[str, str]:
    """The environment of a process in ``venv``: its bin first, nothing of ours leaking in."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("NBTRACK_", "MLFLOW_", "JUPYTER", "JPY_", "IPYTHON"))
        and k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env["JUPYTER_DATA_DIR"] = str(data_dir)  # no kernel spec of this machine's user
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def _run(command: list[str], cwd: Path, env: dict[str, str], timeout: float) -> str:
    result = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )
    output = result.stdout + result.stderr
    if result.returncode != 0:
        if any(error in output for error in NETWORK_ERRORS):
            pytest.skip(
                f"the package index is unreachable, so binder/ cannot be built:\n{output[-1500:]}"
            )
        pytest.fail(f"{' '.join(command)} failed ({result.returncode}):\n{output[-8000:]}")
    return output


@pytest.mark.slow
@pytest.mark.timeout(2400)
def test_fresh_environment_from_binder_files_runs_every_notebook(tmp_path: Path) -> None:
    source = tmp_path / "repo"
    source.mkdir()
    for name in SOURCE_TREE:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(
                path,
                source / name,
                ignore=shutil.ignore_patterns(
                    "__pycache__", "*.db*", "*-artifacts", "*.md", ".ipynb_checkpoints"
                ),
            )
        else:
            shutil.copy2(path, source / name)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = _environment(venv, tmp_path / "jupyter-data")
    python = str(venv / "bin" / "python")

    _run(
        [python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt"],
        source,
        env,
        timeout=1500,
    )
    _run(["bash", "binder/postBuild"], source, env, timeout=600)
    # Every dependency nbtrack declares is satisfied by the pinned set.
    _run([python, "-m", "pip", "check"], source, env, timeout=120)

    notebooks = [str(source / "notebooks" / p.name) for p in NOTEBOOKS]
    output = _run(
        [python, "-c", RUN_NOTEBOOKS, *notebooks], source / "notebooks", env, timeout=1200
    )
    assert [line for line in output.splitlines() if line.startswith("ran ")] == [
        f"ran {p.name}" for p in NOTEBOOKS
    ]
    # nbtrack came from the wheel built by postBuild (not this checkout), widgets included.
    where = _run(
        [python, "-c", "import nbtrack.panels.assets as a; print(a.widget_file('runs.js'))"],
        tmp_path,
        env,
        timeout=120,
    )
    assert str(venv) in where and "_widgets" in where
