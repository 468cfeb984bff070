"""How fast the run table and the sweep answer at scale (nbtrack only: MLflow has no panels).

Usage: python bench/panels.py [--runs 10000] [--children 2000] [--table-runs 100000] [--json]

``bench/run.py`` (``make bench``) runs it and puts its figures in the README's table.

Builds a store of ``--runs`` runs in a temporary folder (autolog-like: 10 params, 4 metrics
of which one has a 20-step history, 6 tags; a tenth of the runs nested under 100 parents),
then times, as medians of several repetitions:

- import of ``nbtrack.panels`` (a fresh interpreter, minus bare start-up);
- first render: creating the run table (every query of the first page and its columns,
  plus serializing the widget state that goes to the browser);
- a filter typed in the box, a sort by a metric, a page turn, expanding a parent;
- the live change check (polled twice a second) and a refresh after a write;
- the parallel coordinates over ``--children`` child runs, and a brush;
- the first panel (a run detail with its chart) in a fresh interpreter, import included;
- opening each panel once warm (run detail, compare, sweep, registry), state serialized;
- the widget-state bytes each panel sends at 100 runs, once the first chart was shown;
- the run table over ``--table-runs`` runs: first render, filter, sort (filtered, and over
  every run), page; and in tree mode with a filter matching child runs whose parents do
  not (context rows).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from timing import median_time

FRESH_PANEL = """
import sys, time
t0 = time.perf_counter()
import json
import nbtrack
from nbtrack.panels import RunDetail
from ipywidgets.widgets.widget import _instances, _remove_buffers
panel = RunDetail(sys.argv[2], client=nbtrack.MlflowClient(sys.argv[1]), live=False)
for widget in list(_instances.values()):
    json.dumps(_remove_buffers(widget.get_state())[0])
print(time.perf_counter() - t0)
"""


def import_time() -> float:
    """Seconds to import nbtrack.panels in a fresh interpreter, minus bare start-up."""

    def run(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0

    base = statistics.median(run("pass") for _ in range(3))
    return statistics.median(run("import nbtrack.panels") for _ in range(3)) - base


def build_store(client, runs: int) -> tuple[str, list[str]]:
    """An experiment of ``runs`` autolog-like runs; return its id and the parents' ids."""
    from nbtrack.entities import Metric, Param, RunTag

    rng = random.Random(0)
    exp = client.create_experiment("scale")
    parents: list[str] = []
    for i in range(runs):
        tags = {"mlflow.source.name": "train.ipynb", "mlflow.user": "ana"}
        if i >= 100 and i % 10 == 0:
            tags["mlflow.parentRunId"] = parents[i % 100]
        run_id = client.create_run(
            exp, start_time=1_700_000_000_000 + i * 1000, tags=tags
        ).info.run_id
        if i < 100:
            parents.append(run_id)
        params = [Param(f"clf__p{k}", str(rng.choice([0.001, 0.01, 0.1, 1, 10]))) for k in range(8)]
        params += [Param("model", rng.choice(["ridge", "lasso", "svr"])), Param("seed", "0")]
        metrics = [Metric("loss", rng.random() / (s + 1), 0, s) for s in range(20)]
        metrics += [Metric(k, rng.random(), 0, 0) for k in ("r2", "rmse", "mae")]
        client.log_batch(
            run_id,
            metrics=metrics,
            params=params,
            tags=[RunTag("team", rng.choice(["a", "b"])), RunTag("nbtrack.python.version", "3.11")],
        )
    return exp, parents


def state_bytes(make) -> tuple[object, int]:
    """What ``make()`` returns, and the bytes of widget state its new widgets send."""
    from ipywidgets.widgets.widget import _instances, _remove_buffers

    before = set(_instances)
    made = make()
    total = 0
    for key in set(_instances) - before:
        state, _, buffers = _remove_buffers(_instances[key].get_state())
        total += len(json.dumps(state)) + sum(len(b) for b in buffers)
    return made, total


def serialized(make) -> None:
    """Call ``make()`` and serialize the state of every widget it created."""
    state_bytes(make)


def panel_bytes(tmp: Path) -> dict[str, float]:
    """Widget-state bytes of run detail, compare and sweep at 100 runs (first chart shown)."""
    import nbtrack
    from nbtrack.panels import CompareRuns, ParallelCoordinates, RunDetail

    client = nbtrack.MlflowClient(f"sqlite:///{tmp / 'bytes.db'}")
    exp, parents = build_store(client, 100)
    parent = build_sweep(client, exp, 100)
    state_bytes(lambda: RunDetail(parents[0], client=client, live=False))  # the first chart
    found = {}
    _, found["detail_bytes"] = state_bytes(lambda: RunDetail(parents[1], client=client, live=False))
    _, found["compare_bytes"] = state_bytes(
        lambda: CompareRuns(parents[:5], client=client, live=False)
    )
    _, found["sweep_bytes"] = state_bytes(
        lambda: ParallelCoordinates(parent, client=client, live=False)
    )
    return found


def fresh_panel_time(db: Path, run_id: str) -> float:
    """Seconds for a fresh interpreter to import nbtrack and build its first run detail."""
    out = subprocess.run(
        [sys.executable, "-c", FRESH_PANEL, f"sqlite:///{db}", run_id],
        check=True,
        capture_output=True,
        text=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def big_table(tmp: Path, runs: int) -> dict[str, float]:
    """The run table over ``runs`` runs: first render, filter, sort, page (medians)."""
    import nbtrack
    from nbtrack.panels import RunTable
    from nbtrack.store import panels as store_panels

    client = nbtrack.MlflowClient(f"sqlite:///{tmp / 'big.db'}")
    t0 = time.perf_counter()
    exp, _ = build_store(client, runs)
    print(f"built {runs} runs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    found = {}

    def first_render() -> None:
        store_panels.close_all()
        table = RunTable([exp], client=client, live=False)
        json.dumps(table.grid.get_state(), allow_nan=False)

    found["table_first_render_s"] = median_time(first_render, repeat=3)
    table = RunTable([exp], client=client, live=False)
    filters = iter(
        [
            "params.model = 'ridge' and metrics.rmse < 0.5",
            "params.model = 'lasso' and metrics.rmse < 0.5",
        ]
        * 10
    )
    found["table_filter_s"] = median_time(lambda: setattr(table, "filter", next(filters)))
    orders = iter([["metrics.`rmse` DESC"], ["metrics.`rmse` ASC"]] * 10)
    found["table_sort_s"] = median_time(lambda: setattr(table.grid, "order_by", next(orders)))
    pages = iter(range(1, 20))
    found["table_page_s"] = median_time(lambda: setattr(table.grid, "page", next(pages)))
    table.filter = ""  # a sort over every run: its first page found by an index walk
    orders = iter([["metrics.`rmse` DESC"], ["metrics.`rmse` ASC"], []] * 10)
    found["table_sort_all_s"] = median_time(lambda: setattr(table.grid, "order_by", next(orders)))
    found["table_far_page_s"] = far_page(table)
    found.update(tree_with_context(table))
    return {f"{key[:6]}{runs // 1000}k_{key[6:]}": value for key, value in found.items()}


def far_page(table) -> float:
    """Median time of the first page past the index-walked rows of a new sort.

    Such a page sorts every run once (later pages are slices of that sort).
    """
    from nbtrack.store.shown_runs import WALKED_ROWS

    page = WALKED_ROWS // table.grid.page_size + 1
    times = []
    for order in (["metrics.`rmse` DESC"], ["metrics.`rmse` ASC"], []) * 2:
        table.grid.order_by = order
        times.append(median_time(lambda: setattr(table.grid, "page", page), repeat=1))
        table.grid.page = 0
    return statistics.median(times)


def tree_with_context(table) -> dict[str, float]:
    """Tree mode, a filter matching child runs whose parents do not match, sorted, paged.

    About 5 % of the runs match, a tenth of them children: their ten parents are shown
    as context rows (open), placed by their best child when sorted by rmse.
    """
    table.grid.order_by = []
    table.grid.tree = True
    filters = iter(["metrics.rmse < 0.05", "metrics.rmse < 0.04"] * 10)
    found = {"table_tree_filter_s": median_time(lambda: setattr(table, "filter", next(filters)))}
    orders = iter([["metrics.`rmse` DESC"], ["metrics.`rmse` ASC"]] * 10)
    found["table_tree_sort_s"] = median_time(lambda: setattr(table.grid, "order_by", next(orders)))
    pages = iter(range(1, 20))
    found["table_tree_page_s"] = median_time(lambda: setattr(table.grid, "page", next(pages)))
    assert any(row.get("context") for row in table.grid.rows) or table.grid.page > 0
    return found


def build_sweep(client, exp: str, children: int) -> str:
    """A parent with ``children`` child runs over four params; return the parent's id."""
    from nbtrack.entities import Metric, Param

    parent = client.create_run(exp, run_name="sweep").info.run_id
    for i in range(children):
        run_id = client.create_run(exp, tags={"mlflow.parentRunId": parent}).info.run_id
        client.log_batch(
            run_id,
            params=[
                Param("lr", str(10 ** -(i % 5))),
                Param("depth", str(i % 7)),
                Param("act", ["relu", "tanh", "gelu"][i % 3]),
                Param("width", str(32 * (1 + i % 4))),
            ],
            metrics=[Metric("loss", 1 / (1 + i), 0, 0), Metric("acc", (i % 100) / 100, 0, 0)],
        )
    return parent


def warm_opens(client, parents: list[str], sweep_parent: str) -> dict[str, float]:
    """Seconds to open each panel once warm, its widget state serialized."""
    from nbtrack.panels import CompareRuns, ParallelCoordinates, RegistryBrowser, RunDetail

    client.create_registered_model("bench-model")
    for run_id in parents[:3]:
        client.log_text(run_id, f"run_id: {run_id}\nflavors: {{}}\n", "model/MLmodel")
        client.create_model_version("bench-model", f"runs:/{run_id}/model", run_id)
    makers = {
        "detail_open_s": lambda: RunDetail(parents[0], client=client, live=False),
        "compare_open_s": lambda: CompareRuns(parents[:5], client=client, live=False),
        "sweep_open_warm_s": lambda: ParallelCoordinates(sweep_parent, client=client, live=False),
        "registry_open_s": lambda: RegistryBrowser(client=client, live=False),
    }
    found = {}
    for key, make in makers.items():
        serialized(make)  # warm
        found[key] = median_time(lambda make=make: serialized(make), repeat=3)
    return found


def main() -> None:
    """Build the store, time each step, print the medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=2_000)
    parser.add_argument("--table-runs", type=int, default=100_000)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    results: dict[str, float] = {"import_panels_s": import_time()}
    with tempfile.TemporaryDirectory() as tmp:
        import nbtrack
        from nbtrack.panels import ParallelCoordinates, RunTable
        from nbtrack.store import panels as store_panels

        client = nbtrack.MlflowClient(f"sqlite:///{Path(tmp) / 'scale.db'}")
        t0 = time.perf_counter()
        exp, parents = build_store(client, args.runs)
        print(f"built {args.runs} runs in {time.perf_counter() - t0:.1f} s", file=sys.stderr)

        def first_render() -> None:
            store_panels.close_all()  # cold: a new connection, nothing cached
            table = RunTable([exp], client=client, live=False)
            json.dumps(table.grid.get_state(), allow_nan=False)

        results["first_render_s"] = median_time(first_render)
        table = RunTable([exp], client=client, live=False)
        filters = iter(
            [
                "params.model = 'ridge' and metrics.rmse < 0.5",
                "params.model = 'lasso' and metrics.rmse < 0.5",
            ]
            * 10
        )
        results["filter_s"] = median_time(lambda: setattr(table, "filter", next(filters)))
        orders = iter([["metrics.`rmse` DESC"], ["metrics.`rmse` ASC"]] * 10)
        results["sort_s"] = median_time(lambda: setattr(table.grid, "order_by", next(orders)))
        pages = iter(range(1, 20))
        results["page_s"] = median_time(lambda: setattr(table.grid, "page", next(pages)))
        table.filter = ""
        table.grid.order_by = []
        table.grid.page = table.grid.roots // table.grid.page_size  # where the parents are
        with_kids = [r["id"] for r in table.grid.rows if r.get("children")]
        opened = iter([[with_kids[0]], []] * 10)  # expand, collapse, expand…
        results["expand_s"] = median_time(lambda: setattr(table.grid, "expanded", next(opened)))
        results["change_check_s"] = median_time(table.queries.change_token, repeat=50)

        def write_and_refresh() -> None:
            client.set_tag(parents[0], "touched", str(time.time()))
            table.refresh()  # what a poll does once it sees the change

        results["refresh_after_write_s"] = median_time(write_and_refresh)

        parent = build_sweep(client, exp, args.children)

        def open_sweep() -> None:
            store_panels.close_all()
            # displayed: the widgets and the static form (saved notebooks) it carries
            ParallelCoordinates(parent, client=client, live=False)._repr_mimebundle_()

        open_sweep()  # warm: the first chart reads the chart library from disk
        results["sweep_open_s"] = median_time(open_sweep, repeat=3)
        sweep = ParallelCoordinates(parent, client=client, live=False)
        brushes = iter([(2.5, 3.5), (0.5, 4.5)] * 5)
        results["sweep_brush_s"] = median_time(lambda: sweep.brush("depth", *next(brushes)))

        results["first_panel_fresh_s"] = fresh_panel_time(Path(tmp) / "scale.db", parents[0])
        results.update(warm_opens(client, parents, parent))
        results.update(panel_bytes(Path(tmp)))
        store_panels.close_all()
        results.update(big_table(Path(tmp), args.table_runs))
    if args.json:
        print(json.dumps({f"panels_{key}": value for key, value in results.items()}))
        return
    width = max(len(k) for k in results)
    for key, value in results.items():
        if key.endswith("_bytes"):
            print(f"{key:<{width}}  {value / 1024:9.1f} KB")
        else:
            print(f"{key:<{width}}  {value * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
