"""How fast the panels become visible in a real browser (JupyterLab 4 in headless Chromium).

Usage: python bench/browser.py [--runs 10000] [--children 2000] [--table-runs 100000]
       [--stores DIR] [--json]

``bench/run.py`` (``make bench``) runs it and puts its figures beside issue 10's targets.
It needs ``/usr/bin/chromium`` (``scripts/setup-browser.sh``) and the Python package
playwright; without them it prints nothing and ``make bench`` skips these rows.

Builds a store of ``--runs`` autolog-like runs with a sweep of ``--children`` and a
registered model, and a store of ``--table-runs`` runs (``bench/panels.py``'s builders; kept
in ``--stores`` and reused when that folder already holds them). Then starts JupyterLab and
Chromium with the browser tests' harness (``tests/browser/jupyterlab.py``) and measures,
with ``tests/browser/speed.py``, from the user's act to the result drawn in the page:

- the first panel in a fresh kernel (a run detail with its chart);
- run detail, Compare, the registry browser, the run table (10,000 runs) and the sweep
  (2,000 children) opened warm, and a brush on the sweep;
- a live training run: its first update, and the longest main-thread stall meanwhile;
- the run table over ``--table-runs`` runs: first render, filter, sort, page.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.browser import speed  # noqa: E402
from tests.browser.jupyterlab import CHROMIUM, JupyterLab, launch_chromium  # noqa: E402

NAMES = {  # speed.py's names -> the benchmark's measurement names (bench/targets.py)
    "first_panel": "browser_first_panel_fresh_s",
    "detail": "browser_detail_open_s",
    "compare": "browser_compare_open_s",
    "registry": "browser_registry_open_s",
    "table_10k": "browser_table_10k_open_s",
    "sweep": "browser_sweep_open_s",
    "sweep_brush": "browser_sweep_brush_s",
    "sweep_kernel": "browser_sweep_open_kernel_s",
    "live_first_update": "browser_live_first_update_s",
    "live_longest_stall": "browser_live_longest_stall_s",
}


def stores(folder: Path, runs: int, children: int, table_runs: int) -> tuple:
    """The panel store and the big table's (uri, experiment), built unless already there."""
    marker = folder / f"stores-{runs}-{children}-{table_runs}.json"
    if marker.exists():
        saved = json.loads(marker.read_text())
        return speed.PanelStore(**saved["panels"]), tuple(saved["table"])
    for name in ("speed.db", "table.db"):
        for old in folder.glob(f"{name}*"):
            old.unlink()
    panel_store = speed.build(sys.executable, folder, runs, children)
    table = speed.build_table(sys.executable, folder, table_runs) if table_runs else ("", "")
    marker.write_text(json.dumps({"panels": panel_store.__dict__, "table": table}))
    return panel_store, table


def measure(folder: Path, args: argparse.Namespace) -> dict[str, float]:
    """Every browser figure, in seconds, under the benchmark's names."""
    from nbformat.v4 import new_notebook
    from playwright.sync_api import sync_playwright

    panel_store, (table_uri, table_exp) = stores(folder, args.runs, args.children, args.table_runs)
    work = Path(tempfile.mkdtemp(prefix="bench-browser-"))
    lab = JupyterLab(work / "lab", work / "jupyter-server.log")
    lab.start()
    try:
        with sync_playwright() as playwright:
            context = launch_chromium(playwright, work / "chromium-profile")
            try:
                nb = lab.open_notebook(context, new_notebook(), "speed.ipynb")
                try:
                    times = speed.panel_times(nb, panel_store)
                    big = speed.table_times(nb, table_uri, table_exp) if table_uri else {}
                finally:
                    nb.close()
            finally:
                context.close()
    finally:
        lab.stop()
        shutil.rmtree(work, ignore_errors=True)
    k = f"{args.table_runs // 1000}k"
    found = {NAMES[key]: value for key, value in times.items() if key in NAMES}
    found.update({f"browser_table_{k}_{key}_s": value for key, value in big.items()})
    return found


def main() -> None:
    """Build or reuse the stores, measure in the browser, print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--children", type=int, default=2_000)
    parser.add_argument("--table-runs", type=int, default=100_000, help="0: no big table")
    parser.add_argument("--stores", type=Path, help="keep the built stores here, to reuse")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    try:
        import playwright  # noqa: F401
    except ImportError:
        print("playwright is not installed: no browser figures", file=sys.stderr)
        return
    if not CHROMIUM.exists():
        print(
            f"{CHROMIUM} is missing (scripts/setup-browser.sh): no browser figures", file=sys.stderr
        )
        return
    if args.stores:
        args.stores.mkdir(parents=True, exist_ok=True)
        results = measure(args.stores, args)
    else:
        with tempfile.TemporaryDirectory(prefix="bench-browser-stores-") as tmp:
            results = measure(Path(tmp), args)
    if args.json:
        print(json.dumps(results))
        return
    width = max(len(key) for key in results)
    for key, value in results.items():
        print(f"{key:<{width}}  {value * 1000:9.1f} ms")


if __name__ == "__main__":
    main()
