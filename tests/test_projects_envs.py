"""``--env-manager virtualenv``: environments built from python_env.yaml, cached by key."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import nbtrack
from nbtrack.entities import RunStatus
from nbtrack.errors import ExecutionException, ProjectSpecError
from nbtrack.projects import envs

PYTHON = "{}.{}".format(*sys.version_info[:2])
SCRIPT = "import sys\nopen('prefix.txt', 'w').write(sys.prefix)\n"


@pytest.fixture(autouse=True)
def env_root(tmp_path, monkeypatch) -> Path:
    root = tmp_path / "envs"
    monkeypatch.setenv(envs.ENV_ROOT, str(root))
    return root


def project(folder: Path, python_env: str, requirements: str | None = None) -> Path:
    folder.mkdir()
    (folder / "MLproject").write_text(
        "python_env: python_env.yaml\nentry_points:\n  main:\n    command: python where.py\n"
    )
    (folder / "python_env.yaml").write_text(python_env)
    (folder / "where.py").write_text(SCRIPT)
    if requirements is not None:
        (folder / "requirements.txt").write_text(requirements)
    return folder


def spec(**changes):
    return {"python": PYTHON, "build_dependencies": [], "dependencies": [], **changes}


@pytest.mark.parametrize(
    ("other", "same"),
    [
        (spec(), True),  # the same description
        (spec(python="3.9"), False),  # another Python
        (spec(dependencies=["numpy==2.0"]), False),  # another dependency
        (spec(build_dependencies=["pip"]), False),  # another build dependency
    ],
)
def test_cache_key_follows_the_description(tmp_path, other, same):
    assert (envs.cache_key(spec(), str(tmp_path)) == envs.cache_key(other, str(tmp_path))) is same


def test_cache_key_follows_the_requirements_file(tmp_path):
    described = spec(dependencies=["-r requirements.txt"])
    (tmp_path / "requirements.txt").write_text("numpy==2.0\n")
    first = envs.cache_key(described, str(tmp_path))
    (tmp_path / "requirements.txt").write_text("numpy==2.1\n")
    assert envs.cache_key(described, str(tmp_path)) != first


def test_python_env_is_read_and_checked(tmp_path):
    good = tmp_path / "python_env.yaml"
    good.write_text('python: "3.11.4"\nbuild_dependencies: [pip]\ndependencies: [-r req.txt]\n')
    assert envs.read_python_env(str(good)) == {
        "python": "3.11.4",
        "build_dependencies": ["pip"],
        "dependencies": ["-r req.txt"],
    }
    bad = tmp_path / "bad.yaml"
    bad.write_text("python: 3.11\ndependencies: numpy\n")
    with pytest.raises(ProjectSpecError, match="dependencies must be a list"):
        envs.read_python_env(str(bad))


def test_missing_python_version_names_the_way_out():
    with pytest.raises(ExecutionException, match=r"python2\.7 is not on PATH.*--env-manager local"):
        envs.find_python("2.7")


def test_virtualenv_is_built_once_and_the_command_runs_in_it(tmp_path, env_root, capfd):
    folder = project(tmp_path / "proj", f'python: "{PYTHON}"\n')
    first = nbtrack.projects.run(str(folder), env_manager="virtualenv")
    built = next(env_root.glob("env-*"))
    assert (folder / "prefix.txt").read_text() == str(built)
    assert "building a virtual environment" in capfd.readouterr().err
    run = nbtrack.get_run(first.run_id)
    assert run.info.status == RunStatus.FINISHED
    assert run.data.tags["mlflow.project.env"] == "virtualenv"

    (folder / "prefix.txt").unlink()
    nbtrack.projects.run(str(folder), env_manager="virtualenv")
    assert (folder / "prefix.txt").read_text() == str(built)  # the cached one
    assert "building" not in capfd.readouterr().err
    assert len(list(env_root.glob("env-*"))) == 1


@pytest.mark.slow
def test_virtualenv_with_pip_installs_the_requirements(tmp_path, env_root):
    # pip itself comes from ensurepip and the requirements file is empty: no network needed
    folder = project(
        tmp_path / "proj",
        f'python: "{PYTHON}"\nbuild_dependencies: []\ndependencies: [-r requirements.txt]\n',
        requirements="# nothing to install\n",
    )
    nbtrack.projects.run(str(folder), env_manager="virtualenv")
    built = next(env_root.glob("env-*"))
    assert (built / "bin" / "pip").exists()
    assert (folder / "prefix.txt").read_text() == str(built)
