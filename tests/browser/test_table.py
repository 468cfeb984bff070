"""The run table's own features in a real JupyterLab: completion, trees, row actions.

One notebook logs plain runs and a sweep whose parent has no metric, shows the table, and
the test drives it as a person would: types a filter with key completion (Tab and Enter),
sees the matching child runs under their unmatched parent (a context row), sorts the tree
by a metric, edits a run from its row, deletes two runs and restores one from the
"Deleted runs" view. Screenshots go to ``tests/artifacts/browser/table-*.png``.
"""

from __future__ import annotations

from pathlib import Path

from nbformat.v4 import new_code_cell, new_notebook

SETUP = """\
import time
import nbtrack

nbtrack.set_experiment("table-demo")
for i, rmse in enumerate([0.45, 0.25, 0.35]):
    with nbtrack.start_run(run_name=f"plain-{i}"):
        nbtrack.log_params({"model": "ridge", "alpha": 0.1 * (i + 1)})
        nbtrack.log_metric("rmse", rmse)
    time.sleep(0.01)
with nbtrack.start_run(run_name="sweep") as parent:  # the parent logs no rmse
    nbtrack.log_param("model", "grid")
    for i, rmse in enumerate([0.5, 0.2, 0.4, 0.1]):
        with nbtrack.start_run(run_name=f"trial-{i}", nested=True):
            nbtrack.log_params({"model": "lasso", "alpha": 0.01 * (i + 1)})
            nbtrack.log_metric("rmse", rmse)
        time.sleep(0.01)
"""
TABLE = 1
NAMES = "print([(r['name'], r['depth'], bool(r.get('context'))) for r in table.grid.rows])"


def test_table_completion_context_rows_and_row_actions(open_notebook, artifacts_dir: Path):
    cells = [new_code_cell(SETUP), new_code_cell("table = nbtrack.show_runs()\ntable")]
    nb = open_notebook(new_notebook(cells=cells), "table.ipynb")
    assert nb.run_all(), nb.errors()
    nb.wait_widgets_rendered()
    table = nb.output(TABLE)
    nb.wait_for(".nbt-runs tbody tr[data-id]")
    assert table.locator("tbody tr[data-id]").count() == 4  # 3 plain runs, the sweep

    # Key completion: "rm" offers metrics.rmse; Tab takes it.
    box = table.locator(".nbt-filter")
    box.click()
    box.press_sequentially("rm")
    nb.wait_for(".nbt-complete li:has-text('metrics.rmse')")
    table.screenshot(path=str(artifacts_dir / "table-completion.png"))
    box.press("Tab")
    assert box.input_value() == "metrics.rmse "
    box.press_sequentially("< 0.3 and mod")
    nb.wait_for(".nbt-complete li:has-text('params.model')")
    box.press("ArrowDown")  # the list wraps: down from the only entry comes back to it
    box.press("Enter")  # Enter takes the completion, it does not apply the filter yet
    assert box.input_value() == "metrics.rmse < 0.3 and params.model "
    box.press_sequentially("= 'lasso'")
    box.press("Enter")  # now it applies

    # The two matching trials sit under their parent, shown as context (dimmed).
    nb.wait_for(".nbt-runs .nbt-count:has-text('2 runs')")
    nb.wait_for(".nbt-runs tr.nbt-context:has-text('sweep')")
    assert nb.append_and_run(NAMES) == str(
        [("sweep", 0, True), ("trial-3", 1, False), ("trial-1", 1, False)]
    )
    assert table.locator("tr.nbt-context .nbt-context-label").inner_text().lower() == "context"
    table.screenshot(path=str(artifacts_dir / "table-context-rows.png"))
    # A context row folds away like any parent, and opens again.
    toggle = table.locator("tr.nbt-context .nbt-toggle")
    toggle.click()
    nb.wait_for(".nbt-runs tr.nbt-context .nbt-toggle:has-text('▸')")
    assert table.locator("tbody tr[data-id]").count() == 1
    table.locator("tr.nbt-context .nbt-toggle").click()
    nb.wait_for(".nbt-runs tr[data-id]:has-text('trial-3')")
    assert table.locator("tbody tr[data-id]").count() == 3

    # Sorting by rmse in the tree: the sweep (no rmse) is placed by its best trial (0.1).
    table.locator(".nbt-button", has_text="Clear").first.click()
    nb.wait_for(".nbt-runs .nbt-count:has-text('8 runs')")
    table.locator("thead th", has_text="rmse").click()
    nb.wait_for(".nbt-runs thead th .nbt-arrow")
    order = "print([r['name'] for r in table.grid.rows if r['depth'] == 0])"
    assert nb.append_and_run(order) == str(["sweep", "plain-1", "plain-2", "plain-0"])
    names = table.locator("tbody tr[data-id] .nbt-name").all_inner_texts()
    assert names[:2] == ["sweep", "plain-1"]

    # Edit a run from its row: the run detail's Edit form opens below the table.
    row = table.locator("tbody tr[data-id]").filter(has_text="plain-1")
    row.locator(".nbt-edit").click()
    form = nb.wait_for(":text('Edit run plain-1')")
    assert form.is_visible()
    output = nb.output(TABLE)
    output.locator("input[placeholder='run name']").fill("best-plain")
    output.locator("button", has_text="Rename").click()
    nb.wait_for(".nbt-runs tbody tr[data-id]:has-text('best-plain')")
    output.locator("textarea").fill("the one to beat")
    output.locator("button", has_text="Save note").click()
    nb.wait_for(":text('Done: note saved')")
    output.screenshot(path=str(artifacts_dir / "table-edit-run.png"))
    read_note = (
        "print(nbtrack.search_runs(filter_string=\"attributes.run_name = 'best-plain'\", "
        "output_format='list')[0].data.tags['mlflow.note.content'])"
    )
    assert nb.append_and_run(read_note) == "the one to beat"

    # Delete two selected runs; the "Deleted runs" view lists them to restore.
    for name in ("plain-0", "plain-2"):
        table.locator("tbody tr[data-id]").filter(has_text=name).locator("td").nth(2).click()
    table.locator(".nbt-delete").click()
    nb.wait_for(".nbt-runs .nbt-count:has-text('6 runs')")
    nb.wait_for(".nbt-runs .nbt-note:has-text('Deleted 2 runs')")
    table.locator(".nbt-view").select_option("deleted")
    nb.wait_for(".nbt-runs .nbt-count:has-text('2 runs')")
    assert table.locator("tr.nbt-deleted").count() == 2
    table.screenshot(path=str(artifacts_dir / "table-deleted-view.png"))
    table.locator("tbody tr[data-id]").filter(has_text="plain-0").locator("td").nth(2).click()
    table.locator(".nbt-restore").click()
    nb.wait_for(".nbt-runs .nbt-count:has-text('1 run')")
    table.locator(".nbt-view").select_option("active")
    nb.wait_for(".nbt-runs .nbt-count:has-text('7 runs')")
    assert nb.append_and_run("print(len(nbtrack.search_runs()))") == "7"
    nb.assert_no_errors()


PAGES = """\
import nbtrack

nbtrack.set_experiment("pages")
client = nbtrack.MlflowClient()
exp = nbtrack.get_experiment_by_name("pages").experiment_id
for i in range(130):
    run = client.create_run(exp, run_name=f"run-{i:03d}", start_time=1_700_000_000_000 + i)
    client.log_metric(run.info.run_id, "rmse", i / 100)
    client.set_terminated(run.info.run_id)
"""
# every row of the body, in order: its index, and its run's name
BODY = """() => [...document.querySelectorAll('.nbt-runs tbody tr[data-id]')]
    .map(tr => [Number(tr.dataset.index), tr.querySelector('.nbt-name').textContent])"""


def test_a_page_is_drawn_whole_and_once_when_pages_turn_fast(open_notebook, artifacts_dir: Path):
    """The rows below the scroll box's fold come after the first screenful: all of them,
    in order, and never those of a page the user already turned away from."""
    cells = [new_code_cell(PAGES), new_code_cell("nbtrack.show_runs(exp)")]
    nb = open_notebook(new_notebook(cells=cells), "pages.ipynb")
    assert nb.run_all(), nb.errors()
    nb.wait_widgets_rendered()

    def body(first: int, last: int) -> None:
        expected = [[i, f"run-{n:03d}"] for i, n in enumerate(range(first, last - 1, -1))]
        nb.page.wait_for_function(f"() => ({BODY})().length === {len(expected)}")
        nb.page.wait_for_timeout(300)  # any late rows of an older drawing would be in by now
        assert nb.page.evaluate(BODY) == expected

    body(129, 80)  # newest first: 50 rows, drawn in two parts
    pager = nb.output(1).locator(".nbt-pager")
    for _ in range(2):  # two turns, the second before the first page's rows are all drawn
        pager.locator("button", has_text="Next").click()
    body(29, 0)  # the third page: 30 rows
    pager.locator("button", has_text="Previous").click()
    pager.locator("button", has_text="Previous").click()
    body(129, 80)
    nb.output(1).screenshot(path=str(artifacts_dir / "table-pages.png"))
    nb.assert_no_errors()
