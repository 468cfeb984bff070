"""Model serving under load: `nbtrack models serve` beside `mlflow models serve`.

Usage: python bench/serving.py --mlflow-python PATH [--duration 5] [--rounds 3] [--starts 5]
       [--json]

MLflow runs with `--env-manager local`. Both serve the same model folder (a scaler and a
logistic regression on the wine data, saved by nbtrack in MLflow's format) with one worker
each, on loopback. The load comes from `wrk` (Debian's package; scripts/setup-wrk.sh
installs it), each run bounded by --duration and alternating between the two servers for
--rounds rounds, keeping each server's best: requests per second, p50 and p99 latency for a
1-row and a 100-row `dataframe_split` body, and the CPU time the server's processes spent
per request (less disturbed than the rates by other work on a shared machine). "First 200"
is the time from starting the command to the first 200 answer to a real 1-row
POST /invocations (not only /ping): the median of --starts starts of each server, taken in
turns, and beside it the CPU seconds the server's processes had used by then (what the
start costs, whatever else the machine is doing). nbtrack's modules are byte-compiled
first, as an installed package's are (pip compiles MLflow's in its venv): with
PYTHONDONTWRITEBYTECODE set, each start would otherwise compile them again.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

HERE = Path(__file__).parent
REPO = HERE.parent
CONNECTIONS = 8


def make_model(folder: Path) -> dict[str, list]:
    """Save the model; the 1-row and 100-row request bodies."""
    sys.path.insert(0, str(REPO))
    from sklearn.datasets import load_wine
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    import nbtrack.sklearn

    x, y = load_wine(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x, y)
    nbtrack.sklearn.save_model(model, folder, input_example=x.head(2))
    rows = x.sample(100, replace=True, random_state=0)
    return {
        "1row": _split(rows.head(1)),
        "100rows": _split(rows),
    }


def _split(frame) -> dict:
    return {"dataframe_split": {"columns": list(frame.columns), "data": frame.to_numpy().tolist()}}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def first_200(url: str, body: bytes, process: subprocess.Popen, started: float) -> float:
    """Seconds from ``started`` to the first 200 answer to a real prediction."""
    request = urllib.request.Request(
        url + "/invocations", data=body, headers={"Content-Type": "application/json"}
    )
    while time.monotonic() - started < 120:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, OSError):
            time.sleep(0.005)
    raise RuntimeError("server did not answer within 120 s")


def group_cpu_s(pgid: int) -> float:
    """CPU seconds (user + system) used so far by the live processes of a process group."""
    ticks = 0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid:
            ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url: str, body_file: Path, duration: float, pgid: int) -> dict[str, float]:
    """Requests/s, p50 and p99 (seconds), CPU per request of one bounded wrk run."""
    script = body_file.with_suffix(".lua")
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f"wrk.body = {json.dumps(body_file.read_text())}\n"
    )
    cpu_before = group_cpu_s(pgid)
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{CONNECTIONS}",
            f"-d{duration:g}s",
            "--latency",
            "-s",
            str(script),
            url + "/invocations",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=duration + 60,
    ).stdout
    cpu = group_cpu_s(pgid) - cpu_before
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{errors.group(1)} failed requests under load:\n{out}")
    return {
        "per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_s": _seconds(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99_s": _seconds(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "cpu_per_request_s": cpu / int(re.search(r"(\d+) requests in", out).group(1)),
    }


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


class Server:
    """One server process, started now; ``first_200_s`` (and its CPU cost) once it answered."""

    def __init__(self, command: list[str], env: dict[str, str], body: bytes):
        port = str(free_port())
        command = [port if part == "{port}" else part for part in command]
        self.url = f"http://127.0.0.1:{port}"
        started = time.monotonic()
        self.process = subprocess.Popen(
            command,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self.first_200_s = first_200(self.url, body, self.process, started)
        except BaseException:
            self.stop()
            raise
        self.first_200_cpu_s = group_cpu_s(self.process.pid)

    def load(self, body: Path, duration: float) -> dict[str, float]:
        wrk(self.url, body, 1, self.process.pid)  # warm up
        return wrk(self.url, body, duration, self.process.pid)

    def stop(self) -> None:
        """SIGTERM to the process group (MLflow's command starts uvicorn as a child)."""
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def best(runs: list[dict[str, float]]) -> dict[str, float]:
    """The best of several runs, each figure on its own: others' work only slows a run."""
    return {key: (max if key == "per_s" else min)(run[key] for run in runs) for key in runs[0]}


def start(
    commands: dict[str, tuple[list[str], dict[str, str]]], body: bytes, starts: int
) -> tuple[dict[str, Server], dict[str, dict[str, float]]]:
    """Start each server ``starts`` times in turns; the last ones stay up for the load runs."""
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    servers: dict[str, Server] = {}
    try:
        for attempt in range(starts):
            for name, (command, env) in commands.items():
                servers[name] = Server(command, env, body)
                times[name].append((servers[name].first_200_s, servers[name].first_200_cpu_s))
                if attempt < starts - 1:
                    servers.pop(name).stop()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    results = {
        name: {
            "first_200_s": statistics.median(wall for wall, _ in runs),
            "first_200_cpu_s": statistics.median(cpu for _, cpu in runs),
        }
        for name, runs in times.items()
    }
    return servers, results


def run(
    mlflow_python: str, duration: float, rounds: int, starts: int = 5
) -> dict[str, tuple[float, float]]:
    """{measurement: (nbtrack, mlflow)}; the load runs alternate between the two servers."""
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: run scripts/setup-wrk.sh (Debian's wrk package)")
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(REPO / "nbtrack")],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    mlflow_bin = Path(mlflow_python).parent
    with tempfile.TemporaryDirectory(prefix="bench-serving-") as tmp:
        work = Path(tmp)
        bodies = {}
        for size, payload in make_model(work / "model").items():
            bodies[size] = work / f"{size}.json"
            bodies[size].write_text(json.dumps(payload))
        base = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_"))}
        model = str(work / "model")
        one_row = bodies["1row"].read_bytes()
        commands = {
            "nbtrack": (
                [sys.executable, "-m", "nbtrack", "--tracking-uri", f"sqlite:///{work}/n.db",
                 "models", "serve", "-m", model, "-p", "{port}", "-w", "1"],
                {**base, "PYTHONPATH": str(REPO)},
            ),
            "mlflow": (
                [str(mlflow_bin / "mlflow"), "models", "serve", "--env-manager", "local",
                 "-m", model, "-p", "{port}", "-w", "1"],
                {**base, "PATH": f"{mlflow_bin}{os.pathsep}{base.get('PATH', '')}",
                 "MLFLOW_TRACKING_URI": f"sqlite:///{work}/m.db"},
            ),
        }  # fmt: skip
        servers, results = start(commands, one_row, starts)
        try:
            for size, body in bodies.items():
                runs: dict[str, list[dict[str, float]]] = {name: [] for name in servers}
                for _ in range(rounds):
                    for name, server in servers.items():
                        runs[name].append(server.load(body, duration))
                for name in servers:
                    for key, value in best(runs[name]).items():
                        results[name][f"{size}_{key}"] = value
        finally:
            for server in servers.values():
                server.stop()
    ours, theirs = results["nbtrack"], results["mlflow"]
    return {f"serve_{key}": (ours[key], theirs[key]) for key in ours}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mlflow-python", required=True, help="python of the MLflow venv")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="load runs per server and body")
    parser.add_argument("--starts", type=int, default=5, help="starts per server (median)")
    parser.add_argument("--json", action="store_true", help="print one JSON line")
    args = parser.parse_args()
    results = run(args.mlflow_python, args.duration, args.rounds, args.starts)
    if args.json:
        print(json.dumps(results))
        return 0
    for key, (ours, theirs) in results.items():
        print(f"{key:28} nbtrack {ours:12.4f}   mlflow {theirs:12.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
