"""Notebooks as projects: parameters injected after the ``parameters`` cell, real kernels."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

import nbtrack
from nbtrack.cli import main
from nbtrack.entities import RunStatus
from nbtrack.errors import ExecutionException, ProjectSpecError
from nbtrack.projects import CompletedRun, Sweep

PARAMETERS = "alpha = 0.5\nl1_ratio = 0.1\nlabel = 'base'"
TRAIN = """\
import nbtrack
with nbtrack.start_run():
    nbtrack.log_metric("score", alpha * 10 + l1_ratio)
    nbtrack.log_param("label_seen", label)
"""


def write_notebook(path: Path, *sources: str, parameters: str = PARAMETERS) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    cell = nbformat.v4.new_code_cell(parameters)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# Train"), cell]
    nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
    nbformat.write(nb, path)
    return path


def all_runs():
    return nbtrack.search_runs(search_all_experiments=True, output_format="list")


def artifact(run, path: str) -> str:
    return Path(run.info.artifact_uri.removeprefix("file://"), path).read_text()


def test_notebook_runs_with_parameters_injected_as_one_run(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", TRAIN)
    before = path.read_text()
    result = nbtrack.projects.run(str(path), parameters={"alpha": "0.25", "label": "new"})
    assert isinstance(result, CompletedRun)
    (run,) = all_runs()
    assert run.info.run_id == result.run_id
    assert run.info.status == RunStatus.FINISHED
    assert run.data.params == {"alpha": "0.25", "label": "new", "label_seen": "new"}
    assert run.data.metrics == {"score": pytest.approx(2.6)}
    assert run.data.tags["mlflow.source.type"] == "PROJECT"
    assert run.data.tags["nbtrack.project.kind"] == "notebook"
    executed = nbformat.reads(artifact(run, "train.ipynb"), as_version=4)
    tags = [c.metadata.get("tags", []) for c in executed.cells]
    assert tags.index(["injected-parameters"]) == tags.index(["parameters"]) + 1
    assert "alpha = 0.25" in executed.cells[2].source
    assert path.read_text() == before  # a copy ran, not the notebook itself


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"alpah": "1"}, "no parameter 'alpah'.*sets alpha, l1_ratio, label"),  # a typo
        ({"alpha": "fast"}, "parameter 'alpha' is float"),  # not a number
    ],
)
def test_bad_notebook_parameters_fail_before_anything_runs(tmp_path, given, message):
    path = write_notebook(tmp_path / "train.ipynb", TRAIN)
    with pytest.raises(ProjectSpecError, match=message):
        nbtrack.projects.run(str(path), parameters=given)
    assert all_runs() == []


def test_unknown_kernel_fails_before_anything_runs(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", TRAIN)
    with pytest.raises(ProjectSpecError, match="no Jupyter kernel named 'nope'"):
        nbtrack.projects.run(str(path), kernel_name="nope")
    assert all_runs() == []


@pytest.mark.slow
def test_ctrl_c_shuts_the_kernel_down_and_ends_the_run_killed(tmp_path, fresh_store):
    import os
    import signal
    import subprocess
    import sys
    import time

    path = write_notebook(
        tmp_path / "slow.ipynb",
        "import os, time\nopen('kernel.pid', 'w').write(str(os.getpid()))\ntime.sleep(120)",
    )
    launcher = subprocess.Popen(
        [sys.executable, "-m", "nbtrack", "run", str(path)],
        env={**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pid_file = tmp_path / "kernel.pid"
    try:
        deadline = time.monotonic() + 60
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the kernel never ran the cell"
            assert launcher.poll() is None, launcher.communicate()
            time.sleep(0.05)
        kernel = int(pid_file.read_text())
        launcher.send_signal(signal.SIGINT)
        _, err = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 130
    assert "Traceback" not in err
    with pytest.raises(ProcessLookupError):
        os.kill(kernel, 0)
    (run,) = all_runs()
    assert run.info.status == RunStatus.KILLED


def test_notebook_without_parameters_cell_refuses_parameters(tmp_path):
    path = write_notebook(tmp_path / "plain.ipynb", TRAIN, parameters="")
    nb = nbformat.read(path, as_version=4)
    nb.cells[1].metadata["tags"] = []
    nbformat.write(nb, path)
    with pytest.raises(ProjectSpecError, match="no cell tagged 'parameters'"):
        nbtrack.projects.run(str(path), parameters={"alpha": "1"})


def test_failing_cell_ends_the_run_failed_with_its_traceback(tmp_path):
    path = write_notebook(tmp_path / "broken.ipynb", "ratio = alpha / 0", TRAIN)
    with pytest.raises(ExecutionException, match="ZeroDivisionError") as caught:
        nbtrack.projects.run(str(path))
    run = nbtrack.get_run(caught.value.run_id)
    assert run.info.status == RunStatus.FAILED
    traceback = artifact(run, "traceback.txt")
    assert "ratio = alpha / 0" in traceback
    assert "ZeroDivisionError" in traceback
    assert "\x1b[" not in traceback  # no terminal colours
    executed = nbformat.reads(artifact(run, "broken.ipynb"), as_version=4)
    assert executed.cells[2].outputs[0]["ename"] == "ZeroDivisionError"


@pytest.mark.slow
def test_cli_notebook_sweep_of_six_combinations_in_parallel(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", TRAIN)
    result = CliRunner().invoke(
        main,
        ["run", str(path), "-P", "alpha=0.1,0.5,1.0", "-P", "l1_ratio=0.2,0.8", "--parallel", "2"],
    )
    assert result.exit_code == 0, result.output
    runs = all_runs()
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.data.tags["nbtrack.project.kind"] == "sweep"
    assert parent.info.status == RunStatus.FINISHED
    assert len(children) == 6
    assert {(c.data.params["alpha"], c.data.params["l1_ratio"]) for c in children} == {
        (a, b) for a in ("0.1", "0.5", "1.0") for b in ("0.2", "0.8")
    }
    for child in children:
        assert child.info.status == RunStatus.FINISHED
        expected = float(child.data.params["alpha"]) * 10 + float(child.data.params["l1_ratio"])
        assert child.data.metrics["score"] == pytest.approx(expected)
    assert f"nbtrack.show_sweep('{parent.info.run_id}')" in result.output


@pytest.mark.slow
def test_python_sweep_shows_the_sweep_panel_and_records_failures(tmp_path):
    path = write_notebook(tmp_path / "train.ipynb", "assert alpha < 1", TRAIN)
    sweep = nbtrack.projects.run(str(path), parameters={"alpha": [0.5, 2.0]}, run_name="grid")
    assert isinstance(sweep, Sweep)
    assert sweep.status == RunStatus.FAILED  # one child failed
    parent = nbtrack.get_run(sweep.parent_run_id)
    assert parent.info.run_name == "grid"
    assert "alpha': 2.0" in artifact(parent, "sweep_failures.txt")
    statuses = sorted(nbtrack.get_run(i).info.status for i in sweep.child_run_ids)
    assert statuses == [RunStatus.FAILED, RunStatus.FINISHED]
    bundle = sweep._repr_mimebundle_()
    panel = nbtrack.show_sweep(sweep.parent_run_id)._repr_mimebundle_()
    assert bundle.keys() == panel.keys()
    assert "application/vnd.jupyter.widget-view+json" in bundle


@pytest.mark.slow
def test_sweep_launched_from_a_kernel_displays_the_sweep_panel(tmp_path, fresh_store):
    import os

    from nbclient import NotebookClient

    write_notebook(tmp_path / "train.ipynb", TRAIN)
    outer = nbformat.v4.new_notebook()
    outer.cells = [
        nbformat.v4.new_code_cell(
            "import nbtrack\n"
            "nbtrack.projects.run('train.ipynb', parameters={'alpha': [0.1, 0.2]}, parallel=2)"
        )
    ]
    NotebookClient(
        outer, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute(env={**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)})
    # the launcher's "=== Running notebook …" lines may reach the cell as a stderr stream
    (shown,) = [o for o in outer.cells[0].outputs if o["output_type"] != "stream"]
    assert "application/vnd.jupyter.widget-view+json" in shown["data"]
    (parent,) = [r for r in all_runs() if r.data.tags["nbtrack.project.kind"] == "sweep"]
    assert f"Sweep under {parent.info.run_name}: 2 runs" in shown["data"]["text/plain"]
