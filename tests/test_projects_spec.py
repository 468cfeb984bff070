"""The MLproject format: entry points, typed parameters, commands, and mistakes by line."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest

from nbtrack.errors import ProjectSpecError
from nbtrack.projects.envs import resolve_manager
from nbtrack.projects.spec import load_project

PROJECTS = Path(__file__).parent / "projects"

TYPED = """\
name: typed
entry_points:
  main:
    parameters:
      rate: {type: float, default: 0.5}
      epochs: {type: int, default: 3}
      label: {type: string, default: "a b"}
      data: path
      source: {type: uri, default: "s3://bucket/x"}
    command: "python train.py {rate} {epochs} {label} {data}"
"""


def project(tmp_path: Path, text: str) -> str:
    folder = tmp_path / "proj"
    folder.mkdir(exist_ok=True)
    (folder / "MLproject").write_text(textwrap.dedent(text))
    (folder / "data.csv").write_text("x\n1\n")
    return str(folder)


def test_study_note_projects_load_as_written():
    regression = load_project(str(PROJECTS / "regression"))
    assert regression.name == "regression"
    assert regression.entry_point("main").parameters == {}
    wine = load_project(str(PROJECTS / "wine-quality"))
    main = wine.entry_point("main")
    assert list(main.parameters) == ["input_file", "alpha", "l1_ratio"]
    assert [p.type for p in main.parameters.values()] == ["path", "float", "float"]
    assert wine.env_type == "python_env"
    assert wine.env_file == str(PROJECTS / "wine-quality" / "python_env.yaml")


def test_command_is_templated_with_defaults_and_extras_appended(tmp_path):
    folder = project(tmp_path, TYPED)
    entry = load_project(folder).entry_point("main")
    declared, extra = entry.compute_parameters(
        {"data": "data.csv", "rate": "0.25", "seed": "7", "note": "two words"}, folder, folder
    )
    assert declared == {
        "rate": "0.25",
        "epochs": "3",
        "label": "a b",
        "data": str(Path(folder, "data.csv")),
        "source": "s3://bucket/x",
    }
    assert extra == {"seed": "7", "note": "two words"}
    command = entry.render(declared, extra)
    # MLflow's rule: values shell-quoted, extra -P keys appended as --key value
    assert command == (
        f"python train.py 0.25 3 'a b' {Path(folder, 'data.csv')} --seed 7 --note 'two words'"
    )


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"data": "data.csv", "rate": "fast"}, "parameter 'rate' is float"),  # not a number
        ({"data": "data.csv", "epochs": "3.5"}, "parameter 'epochs' is int"),  # not whole
        ({"data": "missing.csv"}, "missing.csv does not exist"),  # path that is not there
        ({"data": "data.csv", "source": "bucket/x"}, "is a uri"),  # no scheme
        ({"data": "s3://bucket/data.csv"}, "local files only"),  # remote path
        ({}, "needs a value for 'data': pass -P data=VALUE"),  # required, missing
    ],
)
def test_bad_parameter_values_are_refused(tmp_path, given, message):
    folder = project(tmp_path, TYPED)
    entry = load_project(folder).entry_point("main")
    with pytest.raises(ProjectSpecError, match=message):
        entry.compute_parameters(given, folder, folder)


def test_file_uri_is_a_path(tmp_path):
    folder = project(tmp_path, TYPED)
    entry = load_project(folder).entry_point("main")
    declared, _ = entry.compute_parameters({"data": f"file://{folder}/data.csv"}, folder, "/")
    assert declared["data"] == f"{folder}/data.csv"


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        # a tab for indentation
        ("name: x\nentry_points:\n\tmain:\n    command: python a.py\n", 3, "not valid YAML"),
        # a typo in a top-level key
        ("name: x\nentry_point:\n  main:\n    command: a\n", 2, "did you mean 'entry_points'"),
        # an unknown parameter type
        (
            "entry_points:\n  main:\n    parameters:\n      alpha: {type: flaot}\n"
            "    command: python a.py {alpha}\n",
            4,
            "type 'flaot'.*did you mean 'float'",
        ),
        # a default that is not of the parameter's type
        (
            "entry_points:\n  main:\n    parameters:\n      n: {type: int, default: 0.5}\n"
            "    command: python a.py {n}\n",
            4,
            "default of parameter 'n' is int",
        ),
        # a placeholder no parameter declares
        (
            "entry_points:\n  main:\n    parameters:\n      alpha: float\n"
            "    command: python a.py {alpah}\n",
            5,
            "uses \\{alpah\\}.*did you mean 'alpha'",
        ),
        # a command starting with { parses as a mapping: quote it
        ("entry_points:\n  main:\n    command: {alpha}\n", 3, "needs a command string"),
        # an entry point with no command
        ("entry_points:\n  main:\n    parameters: {}\n", 2, "needs a command string"),
        # parameters written as a list
        (
            "entry_points:\n  main:\n    parameters:\n      - alpha\n    command: a\n",
            3,
            "parameters must be a mapping",
        ),
        # two environments
        ("python_env: p.yaml\nconda_env: c.yaml\n", 2, "both set"),
        # an unclosed quote
        ('entry_points:\n  main:\n    command: "python a.py\n', 4, "not valid YAML"),
    ],
)
def test_mlproject_mistakes_name_their_line(tmp_path, text, line, message):
    folder = project(tmp_path, text)
    with pytest.raises(ProjectSpecError, match=message) as caught:
        load_project(folder)
    assert f"MLproject:{line}:" in str(caught.value)


def test_python_env_file_must_exist(tmp_path):
    folder = project(tmp_path, "python_env: nowhere.yaml\n")
    with pytest.raises(ProjectSpecError, match=r"MLproject:1: python_env names 'nowhere.yaml'"):
        load_project(folder)


def test_folder_without_mlproject_runs_its_scripts(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    (folder / "train.py").write_text("print(1)\n")
    proj = load_project(str(folder))
    assert proj.entry_point("train.py").command == "python train.py"
    with pytest.raises(ProjectSpecError, match=r"no entry point 'main'.*pass -e NAME"):
        proj.entry_point("main")


@pytest.mark.parametrize(
    ("text", "tool"),
    [
        ("docker_env:\n  image: python:3.11\n", "docker"),
        ("conda_env: conda.yaml\n", "conda"),
    ],
)
def test_conda_and_docker_projects_name_the_alternative(tmp_path, text, tool):
    folder = project(tmp_path, text)
    (Path(folder) / "conda.yaml").write_text("name: x\n")
    proj = load_project(folder)
    with pytest.raises(ProjectSpecError, match=f"not run {tool} environments: pass --env-manager"):
        resolve_manager(proj, None)
    assert resolve_manager(proj, "local") == "local"


def test_wine_project_copy_is_independent_of_the_fixture(tmp_path):
    copy = tmp_path / "wine"
    shutil.copytree(PROJECTS / "wine-quality", copy)
    entry = load_project(str(copy)).entry_point("main")
    with pytest.raises(ProjectSpecError, match=r"wine-quality\.csv does not exist"):
        entry.compute_parameters({}, str(copy), str(tmp_path))
