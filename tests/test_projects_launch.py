"""``nbtrack run`` of MLproject folders: real child processes writing to this test's store."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import nbtrack
from nbtrack.cli import main
from nbtrack.entities import RunStatus
from nbtrack.errors import ExecutionException, ProjectSpecError
from nbtrack.projects import Sweep

PROJECTS = Path(__file__).parent / "projects"

TYPED_MLPROJECT = """\
name: typed
entry_points:
  main:
    parameters:
      rate: {type: float, default: 0.5}
      epochs: {type: int, default: 3}
      label: {type: string, default: base}
      data: path
    command: "python train.py {rate} {epochs} {label} {data}"
  fail:
    command: "python fail.py"
  wait:
    command: "python wait.py"
  wait_each:
    parameters:
      n: int
    command: "python wait.py child-{n}.pid"
"""

TRAIN = """\
import json, os, sys
import nbtrack

rate, epochs, label, data = sys.argv[1:5]
with nbtrack.start_run() as run:
    nbtrack.log_metric("score", float(rate) * int(epochs))
    nbtrack.log_param("seen_label", label)
    nbtrack.set_tag("extra_args", json.dumps(sys.argv[5:]))
    nbtrack.log_text(open(data).read(), "data_copy.txt")
    print("child run", run.info.run_id)
"""

FAIL = """\
import sys
print("loading the data")
print("something is wrong with row 7", file=sys.stderr)
sys.exit(3)
"""

WAIT = """\
import os, sys, time
import nbtrack
nbtrack.start_run()
with open(sys.argv[1] if len(sys.argv) > 1 else "child.pid", "w") as f:
    f.write(str(os.getpid()))
time.sleep(120)
"""


@pytest.fixture
def typed(tmp_path) -> Path:
    folder = tmp_path / "typed"
    folder.mkdir()
    (folder / "MLproject").write_text(TYPED_MLPROJECT)
    (folder / "train.py").write_text(TRAIN)
    (folder / "fail.py").write_text(FAIL)
    (folder / "wait.py").write_text(WAIT)
    (folder / "data.csv").write_text("x\n1\n")
    return folder


def all_runs():
    return nbtrack.search_runs(search_all_experiments=True, output_format="list")


def artifact(run, path: str) -> str:
    return Path(run.info.artifact_uri.removeprefix("file://"), path).read_text()


def write_wine_csv(path: Path) -> None:
    """The wine data bundled with scikit-learn, shaped as the wine-quality CSV."""
    from sklearn.datasets import load_wine

    frame = load_wine(as_frame=True).frame.rename(columns={"target": "quality"})
    frame["quality"] += 5
    frame.to_csv(path, sep=";", index=False)


def test_typed_params_script_metrics_and_tags_land_in_one_run(typed, capsys):
    submitted = nbtrack.projects.run(
        str(typed),
        parameters={"rate": "0.25", "epochs": "4", "data": str(typed / "data.csv"), "seed": "7"},
        experiment_name="projects",
    )
    (run,) = all_runs()  # the script's start_run() continued the launcher's run
    assert run.info.run_id == submitted.run_id
    assert run.info.status == RunStatus.FINISHED
    assert nbtrack.get_experiment(run.info.experiment_id).name == "projects"
    assert run.data.params == {
        "rate": "0.25",
        "epochs": "4",
        "label": "base",
        "data": str(typed / "data.csv"),
        "seed": "7",
        "seen_label": "base",
    }
    assert run.data.metrics == {"score": 1.0}
    tags = run.data.tags
    assert tags["mlflow.source.type"] == "PROJECT"
    assert tags["mlflow.project.entryPoint"] == "main"
    assert tags["mlflow.source.name"] == str(typed)
    assert tags["nbtrack.project.exit_code"] == "0"
    assert json.loads(tags["extra_args"]) == ["--seed", "7"]  # extra -P as --key value
    assert artifact(run, "data_copy.txt") == "x\n1\n"
    assert f"child run {run.info.run_id}" in capsys.readouterr().out


def test_bad_parameter_fails_before_anything_runs(typed):
    with pytest.raises(ProjectSpecError, match="parameter 'epochs' is int"):
        nbtrack.projects.run(str(typed), parameters={"epochs": "many", "data": "data.csv"})
    with pytest.raises(ProjectSpecError, match="needs a value for 'data'"):
        nbtrack.projects.run(str(typed))
    assert all_runs() == []


def test_failing_entry_point_ends_failed_with_the_output_tail(typed):
    with pytest.raises(ExecutionException, match="exited with status 3") as caught:
        nbtrack.projects.run(str(typed), entry_point="fail")
    run = nbtrack.get_run(caught.value.run_id)
    assert run.info.status == RunStatus.FAILED
    assert run.data.tags["nbtrack.project.exit_code"] == "3"
    tail = artifact(run, "output_tail.txt")
    assert "something is wrong with row 7" in tail
    assert "$ python fail.py" in tail


def test_cli_reports_a_failure_in_one_line(typed):
    result = CliRunner().invoke(main, ["run", str(typed), "-e", "fail"])
    assert result.exit_code == 1
    assert "FAILED" in result.output
    assert "Traceback" not in result.output


def test_cli_refuses_a_malformed_param(typed):
    result = CliRunner().invoke(main, ["run", str(typed), "-P", "rate"])
    assert result.exit_code == 2
    assert "expected NAME=VALUE" in result.output


def test_ctrl_c_kills_the_child_and_ends_the_run_killed(typed, fresh_store):
    pid_file = typed / "child.pid"
    launcher = subprocess.Popen(
        [sys.executable, "-m", "nbtrack", "run", str(typed), "-e", "wait"],
        env={**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while not pid_file.exists() or not pid_file.read_text():
            assert time.monotonic() < deadline, "the entry point never started"
            assert launcher.poll() is None, launcher.communicate()
            time.sleep(0.05)
        child = int(pid_file.read_text())
        launcher.send_signal(signal.SIGINT)
        _, err = launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 130
    assert "KILLED" in err
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)
    (run,) = all_runs()
    assert run.info.status == RunStatus.KILLED


def test_ctrl_c_stops_every_child_of_a_sweep(typed, fresh_store):
    launcher = subprocess.Popen(
        [sys.executable, "-m", "nbtrack", "run", str(typed), "-e", "wait_each", "-P", "n=1,2,3",
         "--parallel", "2"],
        env={**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    pid_files = [typed / "child-1.pid", typed / "child-2.pid"]
    try:
        deadline = time.monotonic() + 30
        while not all(p.exists() and p.read_text() for p in pid_files):
            assert time.monotonic() < deadline, "the children never started"
            assert launcher.poll() is None, launcher.communicate()
            time.sleep(0.05)
        children = [int(p.read_text()) for p in pid_files]
        launcher.send_signal(signal.SIGINT)
        launcher.communicate(timeout=30)
    finally:
        if launcher.poll() is None:
            launcher.kill()
    assert launcher.returncode == 130
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    assert not (typed / "child-3.pid").exists()  # the third never started
    statuses = sorted(r.info.status for r in all_runs())
    assert statuses == [RunStatus.KILLED] * 3  # the parent and the two children


def test_git_version_runs_that_commit_and_records_it(typed):
    def git(*args: str) -> str:
        done = subprocess.run(
            ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
            cwd=typed,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-q", "-m", "first")
    first = git("rev-parse", "HEAD")
    (typed / "MLproject").write_text(TYPED_MLPROJECT.replace("default: base", "default: second"))
    git("commit", "-q", "-am", "second")

    submitted = nbtrack.projects.run(
        str(typed), version=first, parameters={"data": str(typed / "data.csv")}
    )
    run = nbtrack.get_run(submitted.run_id)
    assert run.data.params["label"] == "base"  # the first commit's default
    assert run.data.tags["mlflow.source.git.commit"] == first
    assert run.data.tags["nbtrack.project.version"] == first
    with pytest.raises(ProjectSpecError, match="cannot be checked out"):
        nbtrack.projects.run(str(typed), version="no-such-ref")


def test_version_needs_a_git_repository(typed):
    with pytest.raises(ProjectSpecError, match="needs a git repository"):
        nbtrack.projects.run(str(typed), version="abc123", parameters={"data": "data.csv"})


@pytest.mark.slow
def test_wine_quality_study_project_as_written(tmp_path, fresh_store):
    wine = tmp_path / "wine-quality"
    shutil.copytree(PROJECTS / "wine-quality", wine)
    write_wine_csv(wine / "wine-quality.csv")
    result = subprocess.run(
        [sys.executable, "-m", "nbtrack", "run", str(wine), "-P", "alpha=0.12",
         "-P", "l1_ratio=0.79"],
        env={**os.environ, "NBTRACK_TRACKING_URI": str(fresh_store)},
        capture_output=True,
        text=True,
        timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "Elasticnet model (alpha=0.120000, l1_ratio=0.790000)" in result.stdout
    (run,) = all_runs()
    assert run.data.params == {
        "input_file": str(wine / "wine-quality.csv"),
        "alpha": "0.12",
        "l1_ratio": "0.79",
    }
    assert set(run.data.metrics) == {"rmse", "r2", "mae"}
    model = nbtrack.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert model.metadata.run_id == run.info.run_id  # params, metrics and model together


def test_project_sweep_makes_a_parent_and_one_child_per_value(typed):
    sweep = nbtrack.projects.run(
        str(typed),
        parameters={"rate": ["0.1", "0.2"], "data": str(typed / "data.csv")},
        parallel=2,
    )
    assert isinstance(sweep, Sweep)
    assert sweep.status == RunStatus.FINISHED
    children = [nbtrack.get_run(i) for i in sweep.child_run_ids]
    assert sorted(c.data.metrics["score"] for c in children) == pytest.approx([0.3, 0.6])
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {sweep.parent_run_id}
    parent = nbtrack.get_run(sweep.parent_run_id)
    assert parent.data.tags["nbtrack.project.kind"] == "sweep"
    assert parent.info.status == RunStatus.FINISHED


def test_mlflow_run_id_of_another_store_is_left_to_mlflow(monkeypatch):
    monkeypatch.setenv("MLFLOW_RUN_ID", "0" * 32)
    with nbtrack.start_run() as run:
        assert run.info.run_id != "0" * 32
    assert os.environ["MLFLOW_RUN_ID"] == "0" * 32


def test_start_run_continues_the_handed_over_run_once(monkeypatch):
    client = nbtrack.MlflowClient()
    handed = client.create_run("0").info.run_id
    monkeypatch.setenv("NBTRACK_RUN_ID", handed)
    monkeypatch.setenv("MLFLOW_RUN_ID", handed)
    with nbtrack.start_run() as run:
        assert run.info.run_id == handed
    assert "NBTRACK_RUN_ID" not in os.environ and "MLFLOW_RUN_ID" not in os.environ
    with nbtrack.start_run() as second:
        assert second.info.run_id != handed


def test_cli_every_new_command_has_help():
    for command in ("run", "reproduce"):
        result = CliRunner().invoke(main, [command, "--help"])
        assert result.exit_code == 0
        assert textwrap.dedent(result.output).startswith("Usage:")
