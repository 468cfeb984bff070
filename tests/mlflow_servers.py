"""Real MLflow tracking servers for the sync tests, started and stopped by pid.

``mlflow server`` runs from MLflow's own virtual environment (``NBTRACK_MLFLOW_PYTHON``,
as ``make bench`` builds it) on a free loopback port, with ``--serve-artifacts`` and an
artifact folder in a temporary directory, backed by SQLite or by a throwaway PostgreSQL
cluster (``initdb`` + ``pg_ctl`` on a free port; scripts/setup-postgres.sh installs it).
:func:`mlflow_json` runs a script with MLflow's own client and returns what it prints.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import textwrap
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
STARTUP_S = 180
# MLflow's interpreter, in the venv `make test` and `make bench` build (every test comparing
# with real MLflow runs it in a subprocess).
# absolute (not resolved: the venv's python is a link), as servers start in their own folder
MLFLOW_PYTHON = Path(
    os.environ.get("NBTRACK_MLFLOW_PYTHON", ROOT / ".bench" / "mlflow-venv" / "bin" / "python")
).absolute()


def mlflow_python() -> Path:
    """MLflow's interpreter; the test is skipped with the fix when it is missing."""
    if not MLFLOW_PYTHON.exists():
        pytest.skip(f"MLflow's venv is missing ({MLFLOW_PYTHON}); build it with `make bench`")
    return MLFLOW_PYTHON


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    """One running ``mlflow server``."""

    url: str
    process: subprocess.Popen
    folder: Path

    def stop(self) -> None:
        """Stop the server and its workers (its own process group), by pid."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        # its job consumers (huey) may outlive it: sweep what is left of its group
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)


def _popen_server(
    python: Path,
    backend_uri: str,
    folder: Path,
    port: int,
    log: object,
    workers: int,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
) -> subprocess.Popen:
    # MLflow's job runner (GenAI scorer jobs, on by default) keeps seven huey consumers
    # polling, about a third of a core when idle: a tracking server does not need it
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false", **(env or {})}
    return subprocess.Popen(
        [
            str(python.parent / "mlflow"),
            "server",
            "--backend-store-uri",
            backend_uri,
            "--serve-artifacts",
            "--artifacts-destination",
            str(folder / "artifacts"),
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            *args,
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
        cwd=folder,
    )


def start_mlflow(
    backend_uri: str,
    folder: Path,
    workers: int = 2,
    args: tuple[str, ...] = (),
    env: dict[str, str] | None = None,
    scheme: str = "http",
) -> Server:
    """Start ``mlflow server`` on a free port; wait until it answers.

    ``args`` and ``env`` go to ``mlflow server`` (``--app-name basic-auth``, its config);
    ``scheme="https"`` when ``args`` make it serve TLS (its health is checked unverified).
    """
    python = mlflow_python()
    port = free_port()
    with (folder / "server.log").open("wb") as log:
        process = _popen_server(python, backend_uri, folder, port, log, workers, args, env)
    server = Server(f"{scheme}://127.0.0.1:{port}", process, folder)
    context = ssl._create_unverified_context() if scheme == "https" else None
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"mlflow server exited: {(folder / 'server.log').read_text()}")
        try:
            with urllib.request.urlopen(f"{server.url}/health", timeout=2, context=context) as r:
                if r.status == 200:
                    return server
        except OSError:
            time.sleep(0.5)
    server.stop()
    raise RuntimeError(f"mlflow server did not start: {(folder / 'server.log').read_text()}")


@dataclass
class Postgres:
    """A throwaway PostgreSQL cluster."""

    folder: Path
    port: int
    bin: Path

    @property
    def uri(self) -> str:
        return f"postgresql+psycopg2://postgres@127.0.0.1:{self.port}/mlflow"

    def stop(self) -> None:
        _as_postgres(
            [str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"), "stop", "-m", "fast", "-w"]
        )
        shutil.rmtree(self.folder, ignore_errors=True)


def _as_postgres(command: list[str]) -> None:
    """Run a PostgreSQL tool; as root, as the ``postgres`` user (initdb refuses root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def start_postgres() -> Postgres:
    """initdb a cluster in a new folder, start it on a free port, create database mlflow."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if not found:
        pytest.skip("PostgreSQL is not installed; run scripts/setup-postgres.sh")
    bin_dir = Path(found[-1]).parent
    folder = Path(tempfile.mkdtemp(prefix="nbtrack-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = free_port()
    data = folder / "data"
    _as_postgres([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"])
    _as_postgres(
        [
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(folder / "log"),
            "-w",
            "-o",
            f"-p {port} -k {folder} -c listen_addresses=127.0.0.1",
            "start",
        ]
    )
    pg = Postgres(folder, port, bin_dir)
    try:
        _as_postgres(
            [
                str(bin_dir / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-U",
                "postgres",
                "mlflow",
            ]
        )
    except subprocess.CalledProcessError:
        pg.stop()
        raise
    return pg


def mlflow_json(script: str, *args: str, cwd: Path | None = None, timeout: int = 300) -> object:
    """Run ``script`` with MLflow's client in its venv; the JSON it prints last.

    It runs in ``cwd`` (a new temporary folder by default): MLflow writes ``./mlruns``
    there when a SQLite store names no artifact root.
    """
    code = "import warnings\nwarnings.simplefilter('ignore')\n" + textwrap.dedent(script)
    with tempfile.TemporaryDirectory(prefix="mlflow-client-") as tmp:
        result = subprocess.run(
            [str(mlflow_python()), "-c", code, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=cwd or tmp,
            env={**os.environ, "MLFLOW_ALLOW_FILE_STORE": "true", "PYTHONWARNINGS": "ignore"},
        )
    if result.returncode != 0:
        raise RuntimeError(f"MLflow script failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


READ_BACK = """
import json, sys, mlflow
url, name = sys.argv[1], sys.argv[2]
client = mlflow.MlflowClient(url)
exp = client.get_experiment_by_name(name)
runs = client.search_runs([exp.experiment_id], max_results=50000) if exp else []

def files(run_id, path=None):
    out = []
    for f in client.list_artifacts(run_id, path):
        out += files(run_id, f.path) if f.is_dir else [[f.path, f.file_size]]
    return out

result = []
for r in runs:
    histories = {
        k: [[m.step, m.timestamp, repr(m.value)]
            for m in client.get_metric_history(r.info.run_id, k)]
        for k in r.data.metrics
    }
    result.append({
        "run_id": r.info.run_id, "name": r.info.run_name, "status": r.info.status,
        "start_time": r.info.start_time, "end_time": r.info.end_time,
        "params": r.data.params, "tags": r.data.tags, "histories": histories,
        "datasets": [[d.dataset.name, d.dataset.digest] for d in r.inputs.dataset_inputs],
        "files": sorted(files(r.info.run_id)),
    })
print(json.dumps(result))
"""


def read_back(url: str, experiment: str) -> list[dict]:
    """Every run of an experiment as MLflow's client sees it on the server."""
    return mlflow_json(READ_BACK, url, experiment)  # type: ignore[return-value]


def by_local_id(runs: list[dict]) -> dict[str, dict]:
    """Remote runs keyed by the local run id they carry."""
    return {r["tags"]["nbtrack.local_run_id"]: r for r in runs}


# Runs, a dataset, artifacts, a model logged and registered by MLflow itself (an MLflow 3
# logged model: the version's source is models:/m-…), an alias and a description.
MAKE_STORE = """
import json, sys, mlflow, numpy as np, pandas as pd
from sklearn.linear_model import LogisticRegression
mlflow.set_tracking_uri(sys.argv[1])
mlflow.set_experiment("imported")
x = pd.DataFrame({"a": np.arange(20.0), "b": np.arange(20.0) % 3})
y = (x.a > 9).astype(int)
with mlflow.start_run(run_name="parent") as parent:
    mlflow.log_param("alpha", "0.5")
    mlflow.set_tag("team", "blue")
    for i in range(7):
        mlflow.log_metric("loss", 1.0 / (i + 1), step=i)
    mlflow.log_metric("odd", float("nan"), step=0)
    mlflow.log_text("hello", "notes/hello.txt")
    mlflow.log_input(mlflow.data.from_pandas(x, name="train"), context="training")
    mlflow.sklearn.log_model(LogisticRegression().fit(x, y), name="model",
                             input_example=x.head(2), registered_model_name="imported-model")
    with mlflow.start_run(run_name="child", nested=True) as child:
        mlflow.log_metric("acc", 0.75)
client = mlflow.MlflowClient()
client.set_registered_model_alias("imported-model", "champion", 1)
client.update_registered_model("imported-model", description="from MLflow")
runs = {}
for run_id in (parent.info.run_id, child.info.run_id):
    run = client.get_run(run_id)
    runs[run_id] = {
        "name": run.info.run_name, "start_time": run.info.start_time,
        "end_time": run.info.end_time, "params": run.data.params, "tags": run.data.tags,
        "histories": {k: [[m.step, m.timestamp, repr(m.value)]
                          for m in client.get_metric_history(run_id, k)]
                      for k in run.data.metrics},
    }
print(json.dumps({"parent": parent.info.run_id, "child": child.info.run_id, "runs": runs}))
"""
