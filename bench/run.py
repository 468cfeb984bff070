"""Run every benchmark scenario against nbtrack and MLflow in one invocation; print ratios.

Usage: python bench/run.py --mlflow-python PATH [--readme README.md] [--only NAME]

Each scenario runs in a fresh subprocess per library (bench/worker.py), in its own empty
folder with its own SQLite store, so neither library benefits from the other's caches.
"""

from __future__ import annotations

import argparse
import importlib
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))

from targets import TARGETS  # noqa: E402

SCENARIO_MODULES = sorted(p.stem for p in HERE.glob("scenarios_*.py"))
README_START = "<!-- bench:start -->"
README_END = "<!-- bench:end -->"


def import_time(python: str, module: str, repeat: int = 7) -> float:
    """Median wall time of importing a module in a fresh interpreter, minus bare startup."""

    def run(code: str, env: dict[str, str] | None = None) -> float:
        t0 = time.perf_counter()
        subprocess.run([python, "-c", code], check=True, capture_output=True, env=env)
        return time.perf_counter() - t0

    # Warm the file-system cache, and write the bytecode cache that an installed package
    # has (pip compiles it on install; MLflow's venv has it) even where the environment
    # sets PYTHONDONTWRITEBYTECODE, as this machine does for the editable nbtrack.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    run(f"import {module}", env)
    bare = statistics.median(run("pass") for _ in range(repeat))
    full = statistics.median(run(f"import {module}") for _ in range(repeat))
    return max(full - bare, 1e-6)


def run_scenario(python: str, module: str, scenario: str, library: str) -> dict[str, float]:
    """One scenario against one library, in a fresh process and folder."""
    with tempfile.TemporaryDirectory(prefix=f"bench-{library}-") as workdir:
        proc = subprocess.run(
            [python, str(HERE / "worker.py"), module, scenario, library, workdir],
            capture_output=True,
            text=True,
            check=False,
        )
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"{library} {module}.{scenario} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT ") :])


def panel_timings(python: str) -> dict[str, float]:
    """The panels at 10,000 runs (bench/panels.py); MLflow has no panels to compare."""
    out = subprocess.run(
        [python, str(HERE / "panels.py"), "--json"], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def browser_timings(python: str) -> dict[str, float]:
    """The panels as a person sees them, in JupyterLab in Chromium (bench/browser.py)."""
    out = subprocess.run(
        [python, str(HERE / "browser.py"), "--json"], capture_output=True, text=True, check=True
    )
    lines = out.stdout.strip().splitlines()  # none without Chromium or playwright
    return json.loads(lines[-1]) if lines else {}


def serving_timings(python: str, mlflow_python: str) -> dict[str, tuple[float, float]]:
    """Both model servers under wrk (bench/serving.py): {measurement: (nbtrack, MLflow)}."""
    out = subprocess.run(
        [python, str(HERE / "serving.py"), "--mlflow-python", mlflow_python, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def sync_timings(python: str, mlflow_python: str) -> dict[str, float]:
    """Push, re-push and pull 1,000 runs against a loopback mlflow server (bench/sync.py)."""
    out = subprocess.run(
        [python, str(HERE / "sync.py"), "--mlflow-python", mlflow_python, "--json"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def scenarios(only: str | None) -> list[tuple[str, str]]:
    """(module, scenario) pairs found in bench/scenarios_*.py."""
    found = []
    for module_name in SCENARIO_MODULES:
        module = importlib.import_module(module_name)
        for name in dir(module):
            if name.startswith("scenario_"):
                scenario = name[len("scenario_") :]
                topic = module_name.removeprefix("scenarios_")
                if only is None or only in (scenario, module_name, topic):
                    found.append((module_name, scenario))
    return found


def verdict(key: str, ours: float, theirs: float | None) -> tuple[str, bool]:
    """The targets of a measurement as text, and whether all are met."""
    is_rate = key.endswith("_per_s")
    parts, ok = [], True
    for kind, number in TARGETS.get(key, []):
        if kind == "ratio":
            ratio = _ratio(key, ours, theirs)
            met = ratio is not None and ratio >= number
            parts.append(f"≥ {number:g}×")
        elif kind == "max":
            met = ours <= number
            parts.append(f"≤ {_fmt(key, number)}")
        elif kind == "min":
            met = ours >= number
            parts.append(f"≥ {_fmt(key, number)}")
        else:  # no-slower
            met = theirs is not None and (ours >= theirs if is_rate else ours <= theirs)
            parts.append("≤ MLflow")
        ok = ok and met
    return ", ".join(parts) or "—", ok


def _ratio(key: str, ours: float, theirs: float | None) -> float | None:
    if theirs is None or ours <= 0 or theirs <= 0 or key.endswith("_over_data"):
        return None
    if math.isnan(theirs):  # a figure a library could not produce in its time bound
        return None
    return ours / theirs if key.endswith("_per_s") else theirs / ours


def _ratio_text(ratio: float | None) -> str:
    if ratio is None:
        return "—"
    return f"{ratio:,.0f}×" if ratio >= 10 else f"{ratio:.1f}×"


def _fmt(key: str, value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "not run"
    if key.endswith("_added_s") and value <= 0:
        return "below fit noise"  # the fastest logged fit was as fast as the fastest plain one
    if key.endswith("_bytes"):
        return f"{value / 1024 / 1024:.1f} MB"
    if key.endswith("_over_data"):  # bytes on disk per byte of pages in use
        return f"{value:.2f}×"
    if key.endswith("_per_s"):
        return f"{value:,.0f}/s"
    if value < 1e-3:
        return f"{value * 1e6:.0f} µs"
    if value < 1:
        return f"{value * 1e3:.1f} ms"
    return f"{value:.2f} s"


def table(rows: list[tuple[str, float, float | None]]) -> str:
    """A Markdown table: measurement, nbtrack, MLflow, ratio, target, met."""
    out = [
        "| measurement | nbtrack | MLflow 3.17 | MLflow ÷ nbtrack | target | met |",
        "|---|---:|---:|---:|---|:-:|",
    ]
    for key, ours, theirs in rows:
        target, ok = verdict(key, ours, theirs)
        out.append(
            f"| {key} | {_fmt(key, ours)} | {_fmt(key, theirs)} | "
            f"{_ratio_text(_ratio(key, ours, theirs))} | {target} | {'✓' if ok else '✗'} |"
        )
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mlflow-python", required=True, help="python of the MLflow venv")
    parser.add_argument("--readme", type=Path, help="update this README's benchmark section")
    parser.add_argument("--only", help="run only this scenario or scenario module")
    args = parser.parse_args()

    ours_py, theirs_py = sys.executable, args.mlflow_python
    rows: list[tuple[str, float, float | None]] = []
    if args.only in (None, "import"):
        rows.append(("import_s", import_time(ours_py, "nbtrack"), import_time(theirs_py, "mlflow")))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
        for flavor in ("pyfunc", "sklearn"):  # the facades, beside MLflow's (issue 18)
            ours_s = import_time(ours_py, f"nbtrack.{flavor}")
            rows.append((f"import_{flavor}_s", ours_s, import_time(theirs_py, f"mlflow.{flavor}")))
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    for module, scenario in scenarios(args.only):
        ours = run_scenario(ours_py, module, scenario, "nbtrack")
        theirs = run_scenario(theirs_py, module, scenario, "mlflow")
        for key, value in ours.items():
            rows.append((key, value, theirs.get(key)))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    if args.only in (None, "panels"):
        for key, value in panel_timings(ours_py).items():
            rows.append((key, value, None))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    if args.only in (None, "browser"):
        for key, value in browser_timings(ours_py).items():
            rows.append((key, value, None))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    if args.only in (None, "serving"):
        for key, (ours, theirs) in serving_timings(ours_py, theirs_py).items():
            rows.append((key, ours, theirs))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    if args.only in (None, "sync"):
        for key, value in sync_timings(ours_py, theirs_py).items():
            rows.append((key, value, None))
            print(table(rows[-1:]).splitlines()[-1], flush=True)

    text = table(rows)
    machine = f"{platform.machine()}, {_cores()} cores, Python {platform.python_version()}"
    report = f"Measured {time.strftime('%Y-%m-%d')} on {machine}.\n\n{text}\n"
    print("\n" + report)
    (HERE / "results.md").write_text(report)
    if args.readme:
        _update_readme(args.readme, report)
    return 0 if all(verdict(k, o, t)[1] for k, o, t in rows) else 1


def _cores() -> int:
    import os

    return os.cpu_count() or 0


def _update_readme(readme: Path, report: str) -> None:
    text = readme.read_text()
    pattern = re.compile(re.escape(README_START) + ".*?" + re.escape(README_END), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme} has no {README_START} … {README_END} section")
    readme.write_text(pattern.sub(f"{README_START}\n{report}{README_END}", text))


if __name__ == "__main__":
    sys.exit(main())
