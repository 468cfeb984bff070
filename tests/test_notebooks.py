"""The demo notebooks (notebooks/*.ipynb): how they are committed, and that they run.

Each notebook is committed without outputs. The slow test runs it twice in a copy of its
own: first with nbclient, as a person would (the outputs it writes become the reference),
then with nbval in a fresh kernel (``pytest --nbval``, in a subprocess), which runs every
cell again and compares each output with the reference after the patterns of
``tests/nbval_sanitize.cfg`` have replaced what legitimately changes (ids, times, paths).
So every cell must run (cells tagged ``raises-exception`` must raise), and a second run
from the notebook's emptied store must give the same outputs: the notebooks are idempotent.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
SANITIZE = ROOT / "tests" / "nbval_sanitize.cfg"
CELL_TIMEOUT_S = 300

# The cells whose failure is the lesson: (notebook, cell id) -> the exception they raise.
EXPECTED_FAILURES = {
    ("04-live-training.ipynb", "04-07"): "ValueError",
    ("04-live-training.ipynb", "04-09"): "KeyboardInterrupt",
}
# Cells whose outputs nbval may not compare, and why. Keep this list short: sanitize instead.
OUTPUTS_NOT_COMPARED = {
    # The %%track summary (a thread) and the live chart are displayed in an order that
    # depends on timing; the browser test checks both rendered and the run FINISHED.
    ("04-live-training.ipynb", "04-05"),
}


def _names(paths: list[Path]) -> list[str]:
    return [p.name for p in paths]


def _read(path: Path) -> nbformat.NotebookNode:
    return nbformat.read(path, as_version=4)


def test_the_demo_notebooks_exist() -> None:
    assert _names(NOTEBOOKS) == [
        "01-quickstart.ipynb",
        "02-sweep.ipynb",
        "03-model-card.ipynb",
        "04-live-training.ipynb",
        "05-evaluate.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_committed_without_outputs_or_widget_state(path: Path) -> None:
    nb = _read(path)
    nbformat.validate(nb)
    assert "widgets" not in nb.metadata, "clear the widget state before committing"
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"cell {cell.id} has outputs: clear them before committing"
            assert cell.execution_count is None, f"cell {cell.id} has an execution count"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_starts_from_an_empty_store_of_its_own_and_ends_with_what_you_saw(path: Path) -> None:
    nb = _read(path)
    first_code = next(
        c.source for c in nb.cells if c.cell_type == "code" and "set_tracking_uri" in c.source
    )
    stem = path.stem
    # The store is emptied (file and artifacts) before the notebook points at it.
    assert f'glob("{stem}.db*")' in first_code
    assert f'shutil.rmtree("{stem}-artifacts"' in first_code
    assert f'set_tracking_uri("sqlite:///{stem}.db")' in first_code
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    last = nb.cells[-1]
    assert last.cell_type == "markdown" and last.source.startswith("## What you saw")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_only_the_listed_cells_raise_or_skip_comparison(path: Path) -> None:
    nb = _read(path)
    raising, uncompared = set(), set()
    for cell in nb.cells:
        tags = set(cell.metadata.get("tags", []))
        if "raises-exception" in tags:
            raising.add((path.name, cell.id))
        if tags & {"nbval-ignore-output", "nbval-skip"} or "# NBVAL_IGNORE_OUTPUT" in cell.source:
            uncompared.add((path.name, cell.id))
        assert "# NBVAL_SKIP" not in cell.source, f"cell {cell.id}: every cell must run"
    assert raising == {k for k in EXPECTED_FAILURES if k[0] == path.name}
    assert uncompared == {k for k in OUTPUTS_NOT_COMPARED if k[0] == path.name}


def _execute(path: Path, folder: Path) -> nbformat.NotebookNode:
    """Run the notebook with nbclient in ``folder``; return it with its outputs."""
    from nbclient import NotebookClient

    nb = _read(path)
    NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(folder)}},
    ).execute()
    return nb


def _errors(nb: nbformat.NotebookNode, name: str) -> dict[tuple[str, str], str]:
    return {
        (name, cell.id): output.ename
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "error"
    }


def _nbval(notebook: Path) -> subprocess.CompletedProcess[str]:
    """``pytest --nbval`` on one executed notebook, in a subprocess with its own config."""
    config = notebook.parent / "nbval.ini"
    config.write_text("[pytest]\n")  # not the project's: its options are for tests/
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_"))}
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-c",
            str(config),
            "-p",
            "no:cacheprovider",
            "--nbval",
            "--nbval-current-env",
            "--nbval-sanitize-with",
            str(SANITIZE),
            f"--nbval-cell-timeout={CELL_TIMEOUT_S}",
            "-q",
            "-rfE",
            str(notebook),
        ],
        cwd=notebook.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=CELL_TIMEOUT_S * 4,
    )


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=_names(NOTEBOOKS))
def test_runs_and_reproduces_its_outputs(path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "notebooks"
    folder.mkdir()
    nb = _execute(path, folder)
    assert _errors(nb, path.name) == {
        k: v for k, v in EXPECTED_FAILURES.items() if k[0] == path.name
    }
    executed = folder / path.name
    nbformat.write(nb, executed)
    assert (folder / f"{path.stem}.db").exists(), "the notebook must use its own store"

    result = _nbval(executed)
    assert result.returncode == 0, f"nbval failed:\n{result.stdout[-20000:]}\n{result.stderr}"
    assert " passed" in result.stdout


def test_sanitize_file_parses_into_patterns() -> None:
    # nbval reads "regex:" lines each followed by a "replace:" line; a typo silently drops one.
    from nbval.plugin import get_sanitize_patterns

    text = SANITIZE.read_text()
    patterns = get_sanitize_patterns(text)
    assert len(patterns) == text.count("\nregex: ") == 16
    for regex, _ in patterns:
        re.compile(regex)  # raises on a broken pattern


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        # a run id and a run-table row's time and duration
        (
            "logreg  FINISHED  2026-11-23 02:50:46  1.1s  b1c59c9229c04338bf08397f3500aa64",
            "logreg<PAD>FINISHED<PAD><DATETIME><PAD><DURATION><PAD><ID>",
        ),
        # the summary of a %%track cell keeps its run name only
        (
            "nbtrack run logreg · RUNNING · 0.5 s · id 5f48\n  metrics: a=1",
            "nbtrack run logreg · <RUN SUMMARY>",
        ),
        # a stored traceback's cell file
        ('File "/tmp/ipykernel_29735/2178659937.py", line 1', 'File "<CELL>", line 1'),
        # a model card's sweep row of a timing metric, and a generated child run name
        ("| mean_fit_time | 0.106 | min | `swift-fox-154` | n=3 |", "| mean_fit_time | <TIMING> |"),
        (
            "| mean_test_score | 0.96 | max | `rare-goat-58` |",
            "| mean_test_score | 0.96 | max | `<RUN-NAME>` |",
        ),
        # numbers that are results, not times, stay as they are
        ("426 samples, 0.9441 accuracy, 30 epochs", "426 samples, 0.9441 accuracy, 30 epochs"),
    ],
)
def test_sanitize_patterns(raw: str, clean: str) -> None:
    from nbval.plugin import get_sanitize_patterns

    text = raw
    for regex, replace in get_sanitize_patterns(SANITIZE.read_text()):
        text = re.sub(regex, replace, text)
    assert text == clean
