"""conda_env, code_paths, extra_files and pip requirements, written where MLflow writes them."""

from __future__ import annotations

import sys

import pytest
import yaml
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import nbtrack
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import ArtifactNotFound, InvalidParameter
from nbtrack.models import Model


@pytest.fixture(scope="module")
def classifier():
    x, y = load_iris(return_X_y=True, as_frame=True)
    return LogisticRegression(max_iter=500).fit(x, y)


def test_code_paths_and_extra_files_go_where_mlflow_puts_them(tmp_path, classifier):
    helpers = tmp_path / "src" / "nbt_helpers_pkg"
    helpers.mkdir(parents=True)
    (helpers / "__init__.py").write_text("ANSWER = 42\n")
    single = tmp_path / "src" / "nbt_single_helper.py"
    single.write_text("VALUE = 'x'\n")
    labels = tmp_path / "labels.txt"
    labels.write_text("setosa\nversicolor\nvirginica\n")
    nbtrack.sklearn.save_model(
        classifier,
        tmp_path / "m",
        code_paths=[str(helpers), str(single)],
        extra_files=[str(labels)],
    )
    folder = tmp_path / "m"
    assert (folder / "code" / "nbt_helpers_pkg" / "__init__.py").is_file()
    assert (folder / "code" / "nbt_single_helper.py").is_file()
    assert (folder / "extra_files" / "labels.txt").read_text().startswith("setosa")
    flavors = Model.load(folder).flavors
    assert flavors["sklearn"]["code"] == "code"
    assert flavors["python_function"]["code"] == "code"
    assert flavors["sklearn"]["extra_files"] == [{"path": "extra_files/labels.txt"}]
    sys.modules.pop("nbt_helpers_pkg", None)
    nbtrack.pyfunc.load_model(str(folder))
    import nbt_helpers_pkg  # the loader put the model's code/ on sys.path

    assert nbt_helpers_pkg.ANSWER == 42
    sys.path.remove(str(folder / "code"))


def test_no_code_paths_writes_no_code_key(tmp_path, classifier):
    nbtrack.sklearn.save_model(classifier, tmp_path / "m")
    flavors = Model.load(tmp_path / "m").flavors
    assert "code" not in flavors["python_function"]
    assert flavors["sklearn"]["code"] is None
    assert not (tmp_path / "m" / "extra_files").exists()


@pytest.mark.parametrize("as_file", [False, True])
def test_conda_env_is_written_with_an_mlflow_pin(tmp_path, classifier, as_file):
    env = {
        "name": "iris",
        "channels": ["conda-forge"],
        "dependencies": ["python=3.11", "pip", {"pip": ["scikit-learn", "pandas>=2"]}],
    }
    given = env
    if as_file:
        given = tmp_path / "env.yaml"
        given.write_text(yaml.safe_dump(env))
    nbtrack.sklearn.save_model(classifier, tmp_path / "m", conda_env=given)
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    pip = conda["dependencies"][-1]["pip"]
    assert pip[0].startswith("mlflow==")
    assert pip[1:] == ["scikit-learn", "pandas>=2"]
    assert conda["name"] == "iris"
    assert conda["dependencies"][:2] == ["python=3.11", "pip"]
    assert (tmp_path / "m" / "requirements.txt").read_text().splitlines() == pip
    assert (tmp_path / "m" / "python_env.yaml").is_file()


def test_log_model_takes_the_same_arguments(tmp_path, classifier):
    notes = tmp_path / "notes.md"
    notes.write_text("# notes")
    info = nbtrack.sklearn.log_model(
        classifier, name="m", extra_files=[str(notes)], extra_pip_requirements=["rich"]
    )
    folder = nbtrack.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "d"))
    with open(f"{folder}/extra_files/notes.md") as f:
        assert f.read() == "# notes"
    with open(f"{folder}/requirements.txt") as f:
        assert "rich" in f.read().splitlines()


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"conda_env": {"dependencies": []}, "pip_requirements": ["x"]}, InvalidParameter),
        ({"conda_env": 3}, InvalidParameter),
        ({"code_paths": "src"}, InvalidParameter),
        ({"code_paths": ["/no/such/code.py"]}, ArtifactNotFound),
        ({"extra_files": ["/no/such/file.txt"]}, ArtifactNotFound),
        ({"extra_files": "file.txt"}, InvalidParameter),
    ],
)
def test_bad_packaging_arguments_leave_no_folder(tmp_path, classifier, kwargs, error):
    with pytest.raises(error):
        nbtrack.sklearn.save_model(classifier, tmp_path / "m", **kwargs)
    assert not (tmp_path / "m").exists()
