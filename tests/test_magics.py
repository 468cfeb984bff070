"""%%track and %nbtrack, driven through a real IPython shell."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from traitlets.config import Config

import nbtrack
from nbtrack import capture
from nbtrack.entities import RunStatus
from nbtrack.magics import unload_ipython_extension


@pytest.fixture(scope="module")
def shell():
    config = Config()
    config.HistoryManager.hist_file = ":memory:"
    ip = InteractiveShell.instance(config=config)
    ip.run_line_magic("load_ext", "nbtrack")
    yield ip
    unload_ipython_extension(ip)
    assert "track" not in ip.magics_manager.magics["cell"]
    InteractiveShell.clear_instance()  # later tests run outside IPython again


@pytest.fixture
def ip(shell):
    before = set(shell.user_ns)
    yield shell
    for name in set(shell.user_ns) - before:
        del shell.user_ns[name]


def runs():
    return nbtrack.search_runs(search_all_experiments=True, output_format="list")


def only_run():
    (run,) = runs()
    return run


def artifact(run, path):
    return Path(run.info.artifact_uri.removeprefix("file://"), path).read_text()


# -- literal assignments --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("alpha = 0.5", {"alpha": 0.5}),  # a number
        ("lr = -3e-4\nn = -2", {"lr": -3e-4, "n": -2}),  # negative numbers
        ("layers = [64, 32]\nname = 'cnn'", {"layers": [64, 32], "name": "cnn"}),  # containers
        (  # a dict of tuples, booleans and None
            "grid = {'C': (1, 10), 'on': True, 'x': None}",
            {"grid": {"C": (1, 10), "on": True, "x": None}},
        ),
        ("a, b = 1, 2", {"a": 1, "b": 2}),  # tuple unpacking of literals
        ("a = b = 3", {"a": 3, "b": 3}),  # chained assignment
        ("epochs: int = 10", {"epochs": 10}),  # annotated assignment
        ("x = 1\nx = x * 2", {}),  # the last assignment is not a literal
        ("x = 1\nx += 1", {}),  # nor is an augmented one
        ("x = 1\nx = 2", {"x": 2}),  # the last literal wins
        ("y = f(1)\nz = [1, g]", {}),  # calls and names are not literals
        ("def f():\n    inner = 1\nfor i in range(3):\n    j = 2", {}),  # top level only
        ("a, b = load()", {}),  # unpacking a call
        ("this is not python", {}),  # a cell that does not parse
    ],
)
def test_literal_assignments(source, expected):
    assert capture.literal_assignments(source) == expected


# -- %%track ----------------------------------------------------------------------------------


CELL = """\
alpha = 0.5
layers = [64, 32]
model_name = "m" + "1"
acc = 0.75
print("trained", alpha)
"""


def test_track_records_the_cell_as_a_finished_run(ip, capsys):
    ip.run_cell_magic(
        "track", "--name first --tag team=vision --params model_name --metrics acc", CELL
    )
    run = only_run()
    assert run.info.run_name == "first"
    assert run.info.status == RunStatus.FINISHED
    assert run.info.end_time >= run.info.start_time
    assert run.data.params == {
        "alpha": "0.5",
        "layers": "[64, 32]",
        "acc": "0.75",
        "model_name": "m1",
    }
    assert run.data.metrics == {"acc": 0.75}
    assert run.data.tags["team"] == "vision"
    assert run.data.tags["nbtrack.cell.execution_count"] == str(ip.execution_count)
    assert artifact(run, "cell.py") == CELL
    out = capsys.readouterr().out
    assert out.index("trained 0.5") < out.index("nbtrack run first · FINISHED")
    assert "metrics: acc=0.75" in out


def test_the_last_expression_is_shown_unless_silenced(ip, capsys):
    ip.run_cell("%%track\nx = 12000\nx + 345")
    assert "12345" in capsys.readouterr().out
    ip.run_cell("%%track\nx = 12000\nx + 678;")
    assert "12678" not in capsys.readouterr().out


def test_magics_and_shell_syntax_work_inside_the_cell(ip, capsys):
    ip.run_cell("%%track\nvalue = 7\n%time doubled = value * 2")
    assert ip.user_ns["doubled"] == 14
    assert "Wall time" in capsys.readouterr().out


def test_a_failing_cell_ends_failed_with_its_traceback_and_still_raises(ip, capsys):
    result = ip.run_cell("%%track --name boom\nx = 1\n\ndef f():\n    return 1 / 0\n\nf()\n")
    assert isinstance(result.error_in_exec, ZeroDivisionError)
    run = only_run()
    assert run.info.status == RunStatus.FAILED
    stored = artifact(run, "traceback.txt")
    assert stored.startswith("Traceback (most recent call last):")
    assert "return 1 / 0" in stored and stored.rstrip().endswith("division by zero")
    assert "capture.py" not in stored and "magics.py" not in stored  # the user's frames
    shown = capsys.readouterr().out
    assert "ZeroDivisionError" in shown and "capture.py" not in shown


def test_an_interrupted_cell_ends_killed(ip):
    result = ip.run_cell("%%track\nstep = 3\nraise KeyboardInterrupt")
    assert isinstance(result.error_in_exec, KeyboardInterrupt)
    assert only_run().info.status == RunStatus.KILLED


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--bogus", "unrecognized arguments: --bogus"),  # an unknown option
        ("--tag novalue", "--tag takes KEY=VALUE"),  # a tag without '='
        ("--name 'unclosed", "cannot read the arguments"),  # an unclosed quote
        ("--experiment", "expected one argument"),  # an option missing its value
    ],
)
def test_bad_arguments_get_a_usage_message_and_no_run(ip, capsys, line, message):
    result = ip.run_cell(f"%%track {line}\nx = 1")
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "UsageError" in text and message in text
    assert "Traceback" not in text
    assert isinstance(result.error_in_exec, UsageError)  # shown by IPython without traceback
    assert "x" not in ip.user_ns
    assert runs() == []


def test_help_lists_the_options(ip, capsys):
    ip.run_cell("%%track --help\nx = 1")
    captured = capsys.readouterr()
    assert "--no-autolog" in captured.out + captured.err


def test_an_experiment_and_nested_runs(ip):
    ip.run_cell_magic("track", "--experiment cells --name outer", "a = 1")
    assert only_run().info.experiment_id == nbtrack.get_experiment_by_name("cells").experiment_id
    with nbtrack.start_run() as parent:
        ip.run_cell_magic("track", "--nested --name inner", "b = 2")
    inner = next(r for r in runs() if r.info.run_name == "inner")
    assert inner.data.tags["mlflow.parentRunId"] == parent.info.run_id


def test_a_run_already_active_is_one_readable_line(ip, capsys):
    with nbtrack.start_run():
        ip.run_cell("%%track\nx = 1")
    err = capsys.readouterr().err
    assert err.startswith("nbtrack: run ") and "already active" in err and "--nested" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "x" not in ip.user_ns


def test_autolog_is_on_in_the_cell_and_restored_after(ip):
    from nbtrack.autolog import sklearn as patch

    cell = (
        "from sklearn.datasets import make_classification\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "X, y = make_classification(n_samples=60, random_state=0)\n"
        "model = LogisticRegression(C=0.25).fit(X, y)\n"
    )
    ip.run_cell_magic("track", "--name fit", cell)
    run = only_run()
    assert run.data.params["C"] == "0.25"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert "training_accuracy_score" in run.data.metrics
    assert patch.current_config() is None  # off again, as before the cell


def test_no_autolog_and_a_user_s_own_configuration(ip):
    from nbtrack.autolog import sklearn as patch

    cell = (
        "from sklearn.datasets import make_regression\n"
        "from sklearn.linear_model import Ridge\n"
        "X, y = make_regression(n_samples=40, random_state=0)\n"
        "Ridge().fit(X, y)\n"
    )
    ip.run_cell_magic("track", "--no-autolog --name plain", cell)
    assert "alpha" not in only_run().data.params
    nbtrack.sklearn.autolog(log_models=False, log_datasets=False)
    configured = patch.current_config()
    ip.run_cell_magic("track", "--name configured", cell)
    assert patch.current_config() == configured  # the user's settings were kept
    ip.run_cell_magic("track", "--no-autolog --name off-for-one-cell", cell)
    assert patch.current_config() == configured  # and came back after --no-autolog


def test_live_summary_refreshes_while_the_cell_logs(ip, capsys, monkeypatch):
    monkeypatch.setattr(capture, "REFRESH_S", 0.05)
    logged = threading.Event()

    def cell():
        for step in range(3):
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
            logged.wait(0.3)

    capture.track_cell("", cell, {}, capture.CellOptions(run_name="live"), live=True)
    out = capsys.readouterr().out
    assert "nbtrack run live · RUNNING" in out  # shown while running
    assert out.rstrip().splitlines()[-2].startswith("nbtrack run live · FINISHED")
    assert out.count("nbtrack run live") >= 3  # refreshed as the loss changed


# -- %nbtrack ---------------------------------------------------------------------------------


def test_runs_lists_the_experiment_s_runs_with_a_filter(ip):
    ip.run_cell_magic("track", "--name low --metrics score", "score = 0.2")
    ip.run_cell_magic("track", "--name high --metrics score", "score = 0.9")
    table = ip.run_line_magic("nbtrack", "runs")  # the run table panel
    assert [row["name"] for row in table.grid.rows] == ["high", "low"]
    assert {"metrics.score", "params.score"} <= set(table.static_text().split())
    filtered = ip.run_line_magic("nbtrack", "runs metrics.score > 0.5")
    assert [row["name"] for row in filtered.grid.rows] == ["high"]
    # string values keep their quotes: the filter is MLflow's grammar, not shell words
    by_tag = ip.run_line_magic("nbtrack", "runs tags.`mlflow.runName` = 'low'")
    assert [row["name"] for row in by_tag.grid.rows] == ["low"]
    for panel in (table, filtered, by_tag):
        panel.close()


def test_run_shows_one_run(ip):
    ip.run_cell_magic("track", "--name shown", "alpha = 1")
    summary = ip.run_line_magic("nbtrack", f"run {only_run().info.run_id}")
    assert summary.text().startswith("nbtrack run shown · FINISHED")
    assert "alpha=<b>1</b>" in summary._repr_html_()


def test_experiment_sets_where_the_next_runs_go(ip, capsys):
    ip.run_line_magic("nbtrack", "experiment my sweep")
    assert "experiment 'my sweep'" in capsys.readouterr().out
    ip.run_cell_magic("track", "", "x = 1")
    assert only_run().info.experiment_id == nbtrack.get_experiment_by_name("my sweep").experiment_id


def test_autolog_on_and_off(ip):
    from nbtrack.autolog import sklearn as patch

    ip.run_line_magic("nbtrack", "autolog on")
    assert patch.current_config() is not None
    ip.run_line_magic("nbtrack", "autolog off")
    assert patch.current_config() is None


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("run 0123abcd", "nbtrack: no run with id '0123abcd'"),  # an unknown run: one line
        ("runs metrics.x >>> 1", "nbtrack: "),  # a filter that does not parse: one line
    ],
)
def test_line_magic_errors_are_one_line(ip, capsys, line, message):
    assert ip.run_line_magic("nbtrack", line) is None
    err = capsys.readouterr().err
    assert err.startswith(message) and "Traceback" not in err


@pytest.mark.parametrize(
    "line",
    [
        "",  # no command
        "autolog maybe",  # a state that is neither on nor off
        "launch",  # an unknown command
    ],
)
def test_line_magic_usage(ip, capsys, line):
    ip.run_cell(f"%nbtrack {line}")
    captured = capsys.readouterr()
    assert "UsageError" in captured.out + captured.err
