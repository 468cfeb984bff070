"""``nbtrack reproduce``: project, notebook and %%track runs re-executed and compared."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner
from nbclient import NotebookClient

import nbtrack
from nbtrack.cli import main
from nbtrack.entities import RunStatus
from nbtrack.errors import InvalidState
from nbtrack.projects import Reproduction, reproduce

PROJECTS = Path(__file__).parent / "projects"


def all_runs():
    return nbtrack.search_runs(search_all_experiments=True, output_format="list")


def assert_reproduced(result: Reproduction, original_id: str) -> None:
    assert result.status == RunStatus.FINISHED
    assert result.identical, result.text()
    assert result.differences() == {}
    new = nbtrack.get_run(result.run_id)
    assert new.data.tags["nbtrack.reproduced_from"] == original_id
    assert new.info.experiment_id == nbtrack.get_run(original_id).info.experiment_id


@pytest.mark.slow
def test_seeded_project_run_reproduces_identical_metrics(tmp_path):
    project = tmp_path / "regression"
    shutil.copytree(PROJECTS / "regression", project)
    original = nbtrack.projects.run(str(project), experiment_name="seeded")
    before = nbtrack.get_run(original.run_id)
    assert set(before.data.metrics) == {"rmse", "r2"}
    result = CliRunner().invoke(main, ["reproduce", original.run_id])
    assert result.exit_code == 0, result.output
    assert "identical metrics" in result.output
    assert "rmse" in result.output
    (new,) = [r for r in all_runs() if r.info.run_id != original.run_id]
    assert new.data.metrics == before.data.metrics
    assert new.data.tags["nbtrack.reproduced_from"] == original.run_id
    assert new.data.tags["mlflow.project.entryPoint"] == "main"


def test_changed_project_shows_the_metric_difference(tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "MLproject").write_text(
        "entry_points:\n  main:\n    parameters:\n      k: {type: float, default: 2}\n"
        "    command: python train.py {k}\n"
    )
    script = "import sys, nbtrack\nnbtrack.log_metric('m', float(sys.argv[1]) * {})\n"
    (project / "train.py").write_text(script.format(1))
    original = nbtrack.projects.run(str(project), parameters={"k": "3"})
    (project / "train.py").write_text(script.format(2))
    result = reproduce(original.run_id)
    assert nbtrack.get_run(result.run_id).data.params == {"k": "3"}  # the same params
    assert not result.identical
    assert result.differences() == {"m": (3.0, 6.0)}
    assert "+3" in result.text()
    assert "metrics differ" in result._repr_mimebundle_()["text/html"]


@pytest.mark.slow
def test_notebook_run_reproduces_with_its_parameters(tmp_path):
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("alpha = 0.5")
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [
        cell,
        nbformat.v4.new_code_cell(
            "import random, nbtrack\nrandom.seed(7)\n"
            "nbtrack.log_metric('score', alpha + random.random())"
        ),
    ]
    path = tmp_path / "train.ipynb"
    nbformat.write(nb, path)
    original = nbtrack.projects.run(str(path), parameters={"alpha": "2.5"})
    result = reproduce(original.run_id)
    assert_reproduced(result, original.run_id)
    assert nbtrack.get_run(result.run_id).data.params == {"alpha": "2.5"}


@pytest.mark.slow
def test_track_cell_reproduces_from_the_kernel_history(tmp_path, fresh_store):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(c)
        for c in (
            "%load_ext nbtrack",
            "import random\nrandom.seed(3)\nbase = random.random()",
            "%%track --name warmup\nwarm = base / 2",
            "%%track --name scored\nscore = base * 2 + warm\n"
            "import nbtrack\nnbtrack.log_metric('score', score)",
        )
    ]
    env = {**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)}
    NotebookClient(
        nb, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env=env)
    (original,) = [r for r in all_runs() if r.info.run_name == "scored"]
    result = reproduce(original.info.run_id)
    assert_reproduced(result, original.info.run_id)
    new = nbtrack.get_run(result.run_id)
    assert new.data.metrics["score"] == original.data.metrics["score"]
    assert new.data.params == original.data.params
    # the cells before it logged to a throwaway store: only the tracked cell's run is new
    assert len(all_runs()) == 3
    replay = Path(new.info.artifact_uri.removeprefix("file://"), "reproduction.ipynb")
    assert "random.seed(3)" in replay.read_text()


def test_run_with_no_recipe_cannot_be_reproduced():
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 1)
    with pytest.raises(InvalidState, match="records no way to re-execute it"):
        reproduce(run.info.run_id)
