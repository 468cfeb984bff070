"""Failed runs and bare filter keys in a real JupyterLab.

A ``%%track`` cell raises, so its run ends FAILED with its traceback stored. The run table
must show that row's exception line, offer a filter example built from the experiment's
own keys, and read a bare ``rmse < 56`` as ``metrics.rmse < 56`` (saying so); the run
detail of the failed run must open on the error. Screenshots go to tests/artifacts/browser.
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

SETUP = """\
%load_ext nbtrack
import nbtrack
nbtrack.set_experiment("failures")
for i in range(4):
    with nbtrack.start_run(run_name=f"fit-{i}"):
        nbtrack.log_param("alpha", i)
        nbtrack.log_metric("rmse", 55.0 + i)
"""
FAILING = """\
%%track --name broken-fit
nbtrack.log_param("alpha", -1)
raise ValueError("alpha must be >= 0, got -1")
"""
TABLE = "table = nbtrack.show_runs()\ntable"
DETAIL = """\
failed = nbtrack.search_runs(filter_string="status = 'FAILED'").iloc[0]["run_id"]
nbtrack.show_run(failed)
"""
CURVES = """\
nbtrack.set_experiment("curves")
with nbtrack.start_run(run_name="curves") as curves:
    for step in range(6):
        nbtrack.log_metrics({"loss": 10.0 ** -step, "val_loss": 2 * 10.0 ** -step}, step=step)
nbtrack.show_run(curves.info.run_id)
"""
CELLS = [new_code_cell(c) for c in (SETUP, FAILING, TABLE, DETAIL, CURVES)]


def test_failed_row_error_line_bare_key_and_detail(open_notebook, artifacts_dir: Path):
    nb = open_notebook(new_notebook(cells=CELLS), "failures.ipynb")
    assert nb.run_cell(0), nb.errors()
    assert not nb.run_cell(1)  # the cell raises: its run ends FAILED
    assert nb.run_cell(2), nb.errors()
    assert nb.run_cell(3), nb.errors()
    assert nb.run_cell(4), nb.errors()
    nb.wait_widgets_rendered()

    table = nb.output(2)
    row = table.locator("tbody tr[data-id]", has_text="broken-fit")
    row.wait_for(timeout=30_000)
    assert row.locator(".nbt-badge").inner_text() == "FAILED"
    line = row.locator(".nbt-error-line").inner_text()
    assert line == "ValueError: alpha must be >= 0, got -1"
    assert table.locator("tbody tr[data-id] .nbt-error-line").count() == 1
    heads = table.locator("thead tr.nbt-keys th").all_inner_texts()
    assert heads[:3] == ["Run name", "Status", "rmse"]  # metrics right after the status
    box = table.locator("input.nbt-filter")
    placeholder = box.get_attribute("placeholder") or ""
    assert "metrics.rmse" in placeholder and "params.alpha" in placeholder
    table.screenshot(path=str(artifacts_dir / "failures-table.png"))

    box.fill("rmse < 56.5")
    box.press("Enter")
    table.locator(".nbt-note", has_text="Read rmse as metrics.rmse.").wait_for(timeout=30_000)
    table.locator(".nbt-count", has_text="2 runs").wait_for(timeout=30_000)
    assert box.input_value() == "metrics.rmse < 56.5"
    assert nb.append_and_run("print(table.filter)") == "metrics.rmse < 56.5"
    box.fill("rmsee < 3")
    box.press("Enter")
    table.locator(".nbt-error", has_text="did you mean metrics.rmse?").wait_for(timeout=30_000)
    table.screenshot(path=str(artifacts_dir / "failures-table-filter.png"))

    # Compare three runs: the rmse bars show their differences, the lowest is marked best.
    table.locator("button", has_text="Clear").first.click()
    table.locator(".nbt-count", has_text="5 runs").wait_for(timeout=30_000)
    # Export CSV downloads every shown run.
    with nb.page.expect_download(timeout=30_000) as download:
        table.locator("button.nbt-export").click()
    saved = artifacts_dir / "failures-export.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "nbtrack-runs.csv"
    lines = saved.read_text().splitlines()
    assert lines[0].startswith("run_id,") and len(lines) == 6  # header + 5 runs

    # The column chooser: hide User, pin alpha first; the choice is stored with the experiment.
    table.locator("button.nbt-columns-button").click()
    table.locator(
        ".nbt-chooser tr[data-col='attributes.user_id'] input[data-what='show']"
    ).uncheck()
    table.locator(".nbt-chooser tr[data-col='params.alpha'] input[data-what='pin']").check()
    nb.page.wait_for_function(
        "el => [...el.querySelectorAll('thead tr.nbt-keys th')].map(t => t.textContent)"
        ".slice(0, 3).join() === 'Run name,Status,alpha'",
        arg=table.element_handle(),
        timeout=30_000,
    )
    assert table.locator("thead th", has_text="User").count() == 0
    assert (
        nb.append_and_run(
            "print(nbtrack.MlflowClient().get_experiment(table.experiment_id)"
            ".tags['nbtrack.panel.columns'])"
        )
        == '{"hidden": ["attributes.user_id"], "pinned": ["params.alpha"]}'
    )
    table.screenshot(path=str(artifacts_dir / "failures-table-columns.png"))
    table.locator("button.nbt-columns-button").click()

    # The experiment switcher: another experiment's runs, then back.
    switcher = table.locator("select.nbt-experiment")
    switcher.select_option(label="Experiment: Default")
    table.locator(".nbt-count", has_text="0 runs").wait_for(timeout=30_000)
    assert nb.append_and_run("print(table.experiment_id)") == "0"
    switcher.select_option(label="Experiment: failures")
    table.locator(".nbt-count", has_text="5 runs").wait_for(timeout=30_000)

    for name in ("fit-0", "fit-1", "fit-2"):
        table.locator("tbody tr[data-id]", has_text=name).locator("input").check()
    table.locator("button", has_text="Compare 3 runs").click()
    bars = table.locator(".nbc-bars[data-drawn]")
    bars.wait_for(timeout=30_000)
    assert bars.locator(".nbc-bar").count() == 3
    assert bars.locator(".nbc-best").count() == 1
    assert "fit-0" in bars.locator(".nbc-best-mark title").text_content()
    ticks = [float(t) for t in bars.locator(".nbc-tick").all_text_contents()]
    assert min(ticks) > 50  # not from zero: 55, 56, 57 look different
    bars.screenshot(path=str(artifacts_dir / "failures-compare-bars.png"))
    # ... and a param-against-metric scatter: alpha against rmse, one point per run.
    scatter = table.locator(".nbc-lines[data-drawn]").last
    scatter.get_by_text("rmse against alpha").wait_for(timeout=30_000)
    points = scatter.locator(".nbc-trace").evaluate_all("ps => ps.map(p => p.dataset.points)")
    assert points == ["1", "1", "1"]
    scatter.screenshot(path=str(artifacts_dir / "failures-compare-scatter.png"))

    detail = nb.output(3)
    failure = detail.locator(".nbtrack-failure")
    failure.wait_for(timeout=30_000)
    assert "Failed: ValueError: alpha must be >= 0, got -1" in failure.inner_text()
    detail.screenshot(path=str(artifacts_dir / "failures-detail.png"))

    # The Edit tab renames the run and saves a note; the header shows both.
    detail.locator(".lm-TabBar-tab", has_text="Edit").click()
    detail.locator("input[placeholder='run name']").fill("broken-fit-alpha")
    detail.locator("button", has_text="Rename").click()
    detail.locator("textarea[placeholder^='A note']").fill("alpha must not be negative")
    detail.locator("button", has_text="Save note").click()
    detail.get_by_text("Done: note saved.").wait_for(timeout=30_000)
    detail.get_by_text("alpha must not be negative").first.wait_for(timeout=30_000)
    assert "broken-fit-alpha" in detail.locator(".widget-html").first.inner_text()
    assert (
        nb.append_and_run(
            "r = nbtrack.get_run(failed)\n"
            "print(r.info.run_name, '|', r.data.tags['mlflow.note.content'])"
        )
        == "broken-fit-alpha | alpha must not be negative"
    )
    detail.screenshot(path=str(artifacts_dir / "failures-detail-edit.png"))
    # Charts: overlay val_loss on loss, log scale: two traces, ticks at powers of ten.
    curves = nb.output(4)
    curves.locator(".lm-TabBar-tab", has_text="Charts").click()
    curves.locator(".nbc-lines .nbc-trace").first.wait_for(state="attached", timeout=30_000)
    curves.locator("select[multiple]").select_option("val_loss")
    curves.locator("label", has_text="Log scale").click()
    curves.locator(".nbc-lines .nbc-trace").nth(1).wait_for(state="attached", timeout=30_000)
    nb.page.wait_for_function(
        "el => [...el.querySelectorAll('.nbc-lines .nbc-tick')]"
        ".some(t => t.textContent === '1.00e-4')",
        arg=curves.element_handle(),
        timeout=30_000,
    )
    assert curves.locator(".nbc-lines .nbc-trace").count() == 2
    curves.screenshot(path=str(artifacts_dir / "failures-curves-log.png"))

    expected = "cell 1: Python exception ValueError: alpha must be >= 0, got -1"
    assert nb.errors() == [expected]  # the failing cell's own error, nothing else
