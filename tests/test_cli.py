"""The ``nbtrack`` command: every command through click's CliRunner, plus the real entry points."""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

import nbtrack
from nbtrack import gc
from nbtrack.artifacts import uri_to_path
from nbtrack.cli import main
from nbtrack.cli.output import PIPE_WIDTH, Column, render_table
from nbtrack.display import number, run_duration, size
from nbtrack.errors import InvalidParameter, NbtrackError, RunNotFound

DAY_MS = 86_400_000


def cli(*args: str) -> Result:
    """Run ``nbtrack ARGS`` in this process (the store is conftest's fresh one)."""
    return CliRunner().invoke(main, list(args))


def ok(*args: str) -> str:
    result = cli(*args)
    assert result.exit_code == 0, result.output
    return result.stdout


def fails(*args: str) -> str:
    """Run a command that must fail cleanly; return its one-line error."""
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "Traceback" not in result.output
    message = result.stderr.strip()
    assert message.startswith("Error: ") and "\n" not in message, message
    return message


def logged_run(name: str, rmse: float = 0.5, experiment: str | None = None) -> str:
    """A finished run with a param, a metric history, a tag and two artifacts."""
    if experiment:
        nbtrack.set_experiment(experiment)
    with nbtrack.start_run(run_name=name) as run:
        nbtrack.log_param("alpha", "0.5")
        for step in range(3):
            nbtrack.log_metric("rmse", rmse + step, step=step)
        nbtrack.set_tag("author", "me")
        nbtrack.log_text("notes", "notes.txt")
        nbtrack.log_text("{}", "model/conf.json")
    return run.info.run_id


def ids(*args: str) -> list[str]:
    """The run ids ``runs list --json ARGS`` prints, in order."""
    return [run["info"]["run_id"] for run in json.loads(ok("runs", "list", "--json", *args))]


def artifact_dir(run_id: str) -> Path:
    return uri_to_path(nbtrack.get_run(run_id).info.artifact_uri)


# -- experiments --------------------------------------------------------------------------


def test_experiments_create_then_list():
    out = ok("experiments", "create", "--experiment-name", "wine")
    experiment = nbtrack.get_experiment_by_name("wine")
    assert out.strip() == f"Created experiment 'wine' with id {experiment.experiment_id}"
    table = ok("experiments", "list")
    assert "wine" in table and "Default" in table
    assert table.strip().endswith("2 experiments")
    listed = json.loads(ok("experiments", "list", "--json"))
    assert {e["name"] for e in listed} == {"wine", "Default"}
    wine = next(e for e in listed if e["name"] == "wine")
    assert wine["experiment_id"] == experiment.experiment_id
    assert wine["creation_time"] == experiment.creation_time  # milliseconds, as stored


def test_experiments_create_resolves_a_relative_artifact_location(tmp_path):
    ok("experiments", "create", "-n", "elsewhere", "-l", "arts")
    location = nbtrack.get_experiment_by_name("elsewhere").artifact_location
    assert location == (tmp_path / "arts").as_uri()


def test_experiments_create_duplicate_name_fails_and_changes_nothing():
    ok("experiments", "create", "--experiment-name", "wine")
    message = fails("experiments", "create", "--experiment-name", "wine")
    assert "'wine' already exists" in message
    assert len(nbtrack.search_experiments()) == 2


def test_experiments_delete_restore_rename_and_views():
    experiment_id = nbtrack.create_experiment("wine")
    assert "has been deleted" in ok("experiments", "delete", experiment_id)
    assert [e["name"] for e in json.loads(ok("experiments", "list", "--json"))] == ["Default"]
    deleted = json.loads(ok("experiments", "list", "--view", "deleted", "--json"))
    assert [(e["name"], e["lifecycle_stage"]) for e in deleted] == [("wine", "deleted")]
    assert "deleted" in ok("experiments", "list", "--view", "all")  # the Stage column
    ok("experiments", "restore", experiment_id)
    assert nbtrack.get_experiment(experiment_id).lifecycle_stage == "active"
    assert "renamed to 'red'" in ok("experiments", "rename", experiment_id, "red")
    assert nbtrack.get_experiment(experiment_id).name == "red"


@pytest.mark.parametrize(
    "args",
    [
        ["experiments", "delete", "42"],  # no such experiment
        ["experiments", "delete", "abc"],  # not an id at all
        ["experiments", "delete", "0"],  # the Default experiment cannot be deleted
        ["experiments", "restore", "0"],  # already active
        ["experiments", "rename", "42", "x"],  # no such experiment
        ["experiments", "rename", "0", ""],  # empty name
    ],
)
def test_experiments_bad_input_is_one_line(args):
    fails(*args)


def test_experiments_rename_to_a_taken_name_fails():
    experiment_id = nbtrack.create_experiment("wine")
    nbtrack.create_experiment("beer")
    assert "'beer' already exists" in fails("experiments", "rename", experiment_id, "beer")
    assert nbtrack.get_experiment(experiment_id).name == "wine"


# -- runs list ----------------------------------------------------------------------------


def test_runs_list_table_shows_runs_metrics_and_a_summary():
    first = logged_run("first", rmse=0.25)
    second = logged_run("second", rmse=0.75)
    table = ok("runs", "list")
    lines = table.splitlines()
    assert lines[0].split() == ["Run", "ID", "Name", "Status", "Started", "Duration", "rmse"]
    assert lines[-1] == "2 runs"
    assert lines[2].startswith(second) and lines[3].startswith(first)  # newest first
    assert lines[2].rstrip().endswith("2.75")  # the latest value: the one at the highest step


@pytest.mark.parametrize(
    ("width", "metric_columns"),
    [
        (None, 6),  # not a terminal: the first six metrics, most common first
        (200, 6),  # a wide terminal holds six
        (125, 3),  # a narrower one fewer
        (60, 0),  # too narrow for any: the fixed columns still show
    ],
)
def test_runs_list_fits_metric_columns_to_the_terminal(monkeypatch, width, metric_columns):
    with nbtrack.start_run():
        nbtrack.log_metrics({f"metric_{i}": 0.123456 for i in range(8)})
    monkeypatch.setattr("nbtrack.cli.runs.terminal_width", lambda: width)
    lines = ok("runs", "list").splitlines()
    assert lines[0].count("metric_") == metric_columns
    assert lines[-1] == f"1 run; {8 - metric_columns} more metrics in `runs show` or --json"


def test_runs_list_json_has_full_runs():
    run_id = logged_run("first", rmse=0.25)
    (run,) = json.loads(ok("runs", "list", "--json"))
    stored = nbtrack.get_run(run_id)
    assert run["info"]["run_id"] == run_id
    assert run["info"]["start_time"] == stored.info.start_time
    assert run["data"]["params"] == {"alpha": "0.5"}
    assert run["data"]["metrics"] == {"rmse": 2.25}
    assert run["data"]["tags"]["author"] == "me"


def test_runs_list_json_spells_nan_and_inf_as_strings():
    with nbtrack.start_run():
        nbtrack.log_metrics({"nan": math.nan, "inf": math.inf, "ninf": -math.inf})
    (run,) = json.loads(ok("runs", "list", "--json"))
    assert run["data"]["metrics"] == {"nan": "NaN", "inf": "Infinity", "ninf": "-Infinity"}
    assert "nan" in ok("runs", "list")  # and the table shows them readably


def test_runs_list_filter_order_and_max_results():
    low = logged_run("low", rmse=0.1)
    high = logged_run("high", rmse=0.9)
    logged_run("other", rmse=0.5, experiment="beer")
    assert ids("--experiment", "Default", "--order-by", "metrics.rmse ASC") == [low, high]
    assert ids("-e", "Default", "--filter", "metrics.rmse > 2.5") == [high]
    assert len(ids()) == 3  # every experiment by default
    assert "Experiment" in ok("runs", "list").splitlines()[0]  # and the table says which
    assert ids("-e", "Default", "-o", "metrics.rmse DESC", "--max-results", "1") == [high]
    summary = ok("runs", "list", "--max-results", "1").splitlines()[-1]
    assert summary == "1 run; more runs match: raise --max-results"


def test_runs_list_views_and_delete_restore():
    run_id = logged_run("gone")
    assert "has been deleted" in ok("runs", "delete", run_id)
    assert ok("runs", "list").strip() == "0 runs"
    deleted = json.loads(ok("runs", "list", "--view", "deleted", "--json"))
    assert [r["info"]["lifecycle_stage"] for r in deleted] == ["deleted"]
    ok("runs", "restore", run_id)
    assert nbtrack.get_run(run_id).info.lifecycle_stage == "active"


def test_runs_list_bad_filter_shows_the_parsers_message():
    logged_run("first")
    bad = "metrics.rmse <<< 1"
    with pytest.raises(NbtrackError) as parsed:
        nbtrack.search_runs(filter_string=bad)
    assert fails("runs", "list", "--filter", bad) == f"Error: {parsed.value}"


@pytest.mark.parametrize(
    "args",
    [
        ["runs", "list", "--experiment", "nope"],  # unknown experiment name
        ["runs", "list", "--order-by", "metrics.rmse SIDEWAYS"],  # bad order_by
        ["runs", "show", "0123456789abcdef"],  # unknown run id
        ["runs", "delete", "0123456789abcdef"],
        ["runs", "restore", "0123456789abcdef"],
    ],
)
def test_runs_bad_input_is_one_line(args):
    fails(*args)


# -- runs show ----------------------------------------------------------------------------


def test_runs_show_table():
    run_id = logged_run("first", rmse=0.25)
    out = ok("runs", "show", run_id)
    assert out.splitlines()[0] == f"Run {run_id}"
    for expected in (
        "first",
        "Default (id 0)",
        "FINISHED",
        "Params (1)",
        "alpha",
        "0.5",
        "Latest metrics (1)",
        "2.25",
        "author",
        "Artifacts (3)",
        "model/",
        "model/conf.json",
        "notes.txt",
        "5 B",
    ):
        assert expected in out, expected


def test_runs_show_json_has_info_data_and_every_artifact():
    run_id = logged_run("first", rmse=0.25)
    shown = json.loads(ok("runs", "show", run_id, "--json"))
    assert shown["info"]["run_id"] == run_id and shown["info"]["status"] == "FINISHED"
    assert shown["data"]["metrics"] == {"rmse": 2.25}
    assert shown["artifacts"] == [
        {"path": "model", "is_dir": True, "file_size": None},
        {"path": "model/conf.json", "is_dir": False, "file_size": 2},
        {"path": "notes.txt", "is_dir": False, "file_size": 5},
    ]


def test_runs_show_keeps_a_multiline_tag_on_one_line():
    with nbtrack.start_run() as run:
        nbtrack.set_tag("cell", "x = 1\ny = 2\n" * 50)
    out = ok("runs", "show", run.info.run_id)
    line = next(line for line in out.splitlines() if line.strip().startswith("cell"))
    assert line.split()[1:7] == ["x", "=", "1", "y", "=", "2"]  # newlines became spaces
    assert line.endswith("…") and len(line) == PIPE_WIDTH  # cut: not a terminal, 100 wide
    shown = json.loads(ok("runs", "show", run.info.run_id, "--json"))
    assert shown["data"]["tags"]["cell"] == "x = 1\ny = 2\n" * 50  # JSON keeps it whole


# -- gc -----------------------------------------------------------------------------------


def test_gc_removes_deleted_runs_rows_and_artifacts_and_keeps_the_rest(fresh_store):
    kept = logged_run("kept")
    gone = logged_run("gone")
    gone_dir = artifact_dir(gone)
    nbtrack.delete_run(gone)
    out = ok("gc")
    assert f"Run with id {gone} has been permanently deleted." in out
    assert out.splitlines()[-1] == "Removed 1 run and 0 experiments."
    with pytest.raises(RunNotFound):
        nbtrack.get_run(gone)
    assert not gone_dir.exists() and not gone_dir.parent.exists()  # <run_id>/artifacts
    with sqlite3.connect(fresh_store) as db:
        for table in ("params", "metrics", "latest_metrics", "tags"):
            rows = db.execute(f"SELECT count(*) FROM {table} WHERE run_uuid = ?", (gone,))
            assert rows.fetchone() == (0,), table
    # the sibling run is whole: rows, metric history and files
    run = nbtrack.get_run(kept)
    assert run.data.params == {"alpha": "0.5"} and run.data.metrics == {"rmse": 2.5}
    history = nbtrack.MlflowClient().get_metric_history(kept, "rmse")
    assert [m.value for m in history] == [0.5, 1.5, 2.5]
    assert (artifact_dir(kept) / "notes.txt").read_text() == "notes"
    assert (artifact_dir(kept) / "model" / "conf.json").exists()


def test_gc_removes_a_deleted_experiment_once_its_runs_are_gone():
    run_id = logged_run("gone", experiment="beer")
    experiment = nbtrack.get_experiment_by_name("beer")
    nbtrack.set_experiment("Default")
    kept = logged_run("kept")
    ok("experiments", "delete", experiment.experiment_id)
    out = ok("gc")
    assert f"Run with id {run_id} has been permanently deleted." in out
    assert f"Experiment with id {experiment.experiment_id} has been permanently deleted." in out
    assert nbtrack.get_experiment_by_name("beer") is None
    assert not uri_to_path(experiment.artifact_location).exists()
    assert nbtrack.get_run(kept).info.lifecycle_stage == "active"
    ok("experiments", "create", "-n", "beer")  # the name is free again


def test_gc_run_ids_removes_only_those_runs():
    first, second = logged_run("first"), logged_run("second")
    nbtrack.delete_run(first)
    nbtrack.delete_run(second)
    out = ok("gc", "--run-ids", f"{first}, {first}")  # spaces and repeats are fine
    assert out.splitlines()[-1] == "Removed 1 run and 0 experiments."
    assert nbtrack.get_run(second).info.lifecycle_stage == "deleted"
    assert artifact_dir(second).exists()


@pytest.mark.parametrize(
    "case",
    [
        "active",  # gc only removes deleted runs
        "unknown",  # no such run
        "too recent",  # deleted just now, so not older than 30 days
    ],
)
def test_gc_refuses_runs_it_may_not_remove_and_removes_nothing(case):
    active, deleted = logged_run("active"), logged_run("deleted")
    nbtrack.delete_run(deleted)
    wanted = {"active": active, "unknown": "0123456789abcdef", "too recent": deleted}[case]
    fails("gc", "--run-ids", f"{deleted},{wanted}", "--older-than", "30d")
    assert nbtrack.get_run(deleted).info.lifecycle_stage == "deleted"
    assert (artifact_dir(deleted) / "notes.txt").exists()
    assert (artifact_dir(active) / "notes.txt").exists()


def test_gc_older_than_keeps_recent_deletions(fresh_store):
    old, recent = logged_run("old"), logged_run("recent")
    nbtrack.delete_run(old)
    nbtrack.delete_run(recent)
    with sqlite3.connect(fresh_store) as db:  # as if deleted 31 days ago
        db.execute(
            "UPDATE runs SET deleted_time = deleted_time - ? WHERE run_uuid = ?", (31 * DAY_MS, old)
        )
    db.close()
    out = ok("gc", "--older-than", "30d")
    assert out.splitlines()[-1] == "Removed 1 run and 0 experiments."
    with pytest.raises(RunNotFound):
        nbtrack.get_run(old)
    assert nbtrack.get_run(recent).info.lifecycle_stage == "deleted"


def test_gc_bad_age_is_one_line():
    assert "30 days" in fails("gc", "--older-than", "30 days")


@pytest.mark.parametrize(
    ("text", "ms"),
    [
        ("30d", 30 * DAY_MS),  # days
        ("12h", 12 * 3_600_000),  # hours
        ("1d2h3m4s", DAY_MS + 2 * 3_600_000 + 3 * 60_000 + 4_000),  # MLflow's full form
        ("1.5h", 5_400_000),  # fractions, as MLflow allows
        ("0s", 0),  # everything deleted up to now
    ],
)
def test_parse_age(text, ms):
    assert gc.parse_age(text) == ms


@pytest.mark.parametrize(
    "text",
    [
        "",  # nothing
        "30",  # no unit
        "d",  # a unit without a number
        "1..2d",  # not a number
        "2h1d",  # units out of order
        "-1d",  # negative
    ],
)
def test_parse_age_refuses(text):
    with pytest.raises(InvalidParameter):
        gc.parse_age(text)


# -- the command itself -------------------------------------------------------------------


def test_tracking_uri_option_selects_another_store(tmp_path):
    other = tmp_path / "other.db"
    ok("--tracking-uri", f"sqlite:///{other}", "experiments", "create", "-n", "far")
    assert nbtrack.get_experiment_by_name("far") is None  # not in the default store
    listed = json.loads(ok("--tracking-uri", str(other), "experiments", "list", "--json"))
    assert "far" in {e["name"] for e in listed}


def test_bad_tracking_uri_is_one_line():
    assert "nbtrack sync push" in fails("--tracking-uri", "http://example.com", "runs", "list")


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found = [path]
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += _commands(command, (*path, name))
        else:
            found.append((*path, name))
    return found


@pytest.mark.parametrize("path", _commands(main), ids=lambda p: " ".join(p) or "nbtrack")
def test_every_command_has_help(path):
    out = ok(*path, "--help")
    assert out.startswith("Usage: ")
    assert len(out.splitlines()) > 3  # a description and options, not just the usage line


def test_python_m_nbtrack_and_console_script(fresh_store):
    run_id = logged_run("first")
    env = {**os.environ, "NBTRACK_TRACKING_URI": f"sqlite:///{fresh_store}"}
    module = subprocess.run(
        [sys.executable, "-m", "nbtrack", "--help"], capture_output=True, text=True, env=env
    )
    assert module.returncode == 0 and "experiments" in module.stdout
    script = Path(sys.executable).with_name("nbtrack")
    listed = subprocess.run(
        [str(script), "runs", "list", "--json"], capture_output=True, text=True, env=env
    )
    assert listed.returncode == 0, listed.stderr
    assert [r["info"]["run_id"] for r in json.loads(listed.stdout)] == [run_id]
    missing = subprocess.run(
        [str(script), "runs", "show", "nope"], capture_output=True, text=True, env=env
    )
    assert missing.returncode == 1 and missing.stderr.startswith("Error: no run with id 'nope'")
    assert "Traceback" not in missing.stderr


# -- output helpers -----------------------------------------------------------------------


def test_render_table_aligns_and_truncates():
    table = render_table(
        [Column("ID", None), Column("Name", 8), Column("Value", None, "right")],
        [["a1", "short", 1.5], ["b22", "a much longer name", 123.0]],
    )
    assert table.splitlines() == [
        "ID   Name      Value",
        "---  --------  -----",
        "a1   short       1.5",
        "b22  a much …    123",
    ]
    assert render_table([Column("ID")], []) == ""


@pytest.mark.parametrize(
    ("func", "args", "text"),
    [
        (run_duration, (0, 850), "850 ms"),  # under a second
        (run_duration, (0, 12_340), "12.3 s"),  # seconds
        (run_duration, (0, 245_000), "4 min 05 s"),  # minutes
        (run_duration, (0, 7_380_000), "2 h 03 min"),  # hours
        (run_duration, (0, None), ""),  # still running
        (number, (0.123456789,), "0.123457"),  # six significant digits
        (number, (-math.inf,), "-inf"),
        (size, (512,), "512 B"),
        (size, (1536,), "1.5 KiB"),
        (size, (3 * 1024**3,), "3.0 GiB"),
        (size, (None,), ""),  # a folder
    ],
)
def test_formatting(func, args, text):
    assert func(*args) == text
