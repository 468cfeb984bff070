"""Opening a store: damaged, read-only, device and foreign files; SQLite errors translated."""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

import nbtrack as mlflow
from nbtrack import store
from nbtrack.cli import main
from nbtrack.errors import DamagedStore, InvalidParameter, StoreError
from nbtrack.store import Database
from nbtrack.store import opening as store_opening
from nbtrack.store.panels import RunScope, panel_queries


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _store_with_runs(path, runs: int = 3) -> list[str]:
    """A store at ``path`` with a few runs, checkpointed into the main file and closed."""
    mlflow.set_tracking_uri(str(path))
    ids = []
    for i in range(runs):
        with mlflow.start_run() as run:
            mlflow.log_params({f"p{k}": k for k in range(30)})
            mlflow.set_tags({f"t{k}": "x" * 50 for k in range(30)})
            for step in range(50):
                mlflow.log_metrics({f"m{k}": float(step) for k in range(20)}, step=step)
            mlflow.log_param("i", i)
        ids.append(run.info.run_id)
    store.close_all()  # the last connection checkpoints the WAL into the file
    mlflow.tracking._reset_for_tests()
    mlflow.set_tracking_uri(str(path))
    assert not os.path.exists(f"{path}-wal")
    return ids


def _overwrite_root_page(path, table: str) -> None:
    with sqlite3.connect(path) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        sql = "SELECT rootpage FROM sqlite_master WHERE name = ?"
        root = conn.execute(sql, (table,)).fetchone()
    conn.close()
    with open(path, "r+b") as f:
        f.seek((root[0] - 1) * page_size)
        f.write(random.Random(table).randbytes(page_size))


# each call of issue 12 that raised a raw "database disk image is malformed"
_CALLS = [
    ("get_run", lambda ids: mlflow.get_run(ids[0])),
    ("log_param", lambda ids: mlflow.MlflowClient().log_param(ids[0], "new", "v")),
    ("set_tag", lambda ids: mlflow.MlflowClient().set_tag(ids[0], "new", "v")),
    ("log_metric", lambda ids: mlflow.MlflowClient().log_metric(ids[0], "m0", 1.0, step=99)),
    ("create_run", lambda ids: mlflow.MlflowClient().create_run("0")),
    ("search_runs", lambda ids: mlflow.search_runs(search_all_experiments=True)),
]


@pytest.mark.parametrize("table", ["params", "tags", "latest_metrics"])
@pytest.mark.parametrize(("name", "call"), _CALLS, ids=[name for name, _ in _CALLS])
def test_a_damaged_root_page_is_refused_untouched(tmp_path, table, name, call):
    path = tmp_path / "s.db"
    ids = _store_with_runs(path)
    _overwrite_root_page(path, table)
    before = _digest(path)
    with pytest.raises(DamagedStore, match=r"damaged .*backup.*\.recover"):
        call(ids)
    store.close_all()
    assert _digest(path) == before
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(("-wal", "-shm"))]


def test_random_bytes_in_the_middle_are_refused_untouched(tmp_path):
    path = tmp_path / "s.db"
    ids = _store_with_runs(path, runs=6)
    size = path.stat().st_size
    with open(path, "r+b") as f:
        f.seek(size // 2 // 4096 * 4096)
        f.write(random.Random(0).randbytes(4096))
    before = _digest(path)
    client = mlflow.MlflowClient()
    for _ in range(31):
        with pytest.raises(DamagedStore):
            client.log_metric(ids[0], "m", 1.0)
        with pytest.raises(DamagedStore):
            client.log_param(ids[0], "q", 1)
    store.close_all()
    assert _digest(path) == before


def test_damage_found_by_a_statement_stops_every_later_write(tmp_path, monkeypatch):
    # a store too big for the full check at open: damage shows when a page is read
    monkeypatch.setattr(store_opening, "FULL_CHECK_BYTES", 0)
    path = tmp_path / "s.db"
    ids = _store_with_runs(path, runs=6)
    with sqlite3.connect(path) as conn:  # the last leaf of metrics: not read at open
        (page,) = conn.execute(
            "SELECT max(pageno) FROM dbstat WHERE name = 'metrics' AND pagetype = 'leaf'"
        ).fetchone()
    conn.close()
    with open(path, "r+b") as f:
        f.seek((page - 1) * 4096)
        f.write(b"\xff" * 4096)
    client = mlflow.MlflowClient()
    client.set_tag(ids[0], "opened", "yes")  # the open check passed: the store looks fine
    before = _digest(path)
    queries = panel_queries(client.store)  # the panels' own connection says so too
    scope = RunScope(None, "params.p1 = '1'")
    with pytest.raises(DamagedStore), queries.shown(scope) as runs:
        queries.histories(runs.page(None, 0, 50), [f"m{k}" for k in range(20)])
    with pytest.raises(DamagedStore):
        for run_id in ids:
            for k in range(20):
                client.get_metric_history(run_id, f"m{k}")
    with pytest.raises(DamagedStore, match="will not write"):
        client.set_tag(ids[0], "t", "v")  # refused before SQLite is asked
    store.close_all()
    assert _digest(path) == before


def test_a_missing_table_is_refused_before_any_write(tmp_path):
    path = tmp_path / "s.db"
    _store_with_runs(path, runs=1)
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TABLE latest_metrics")
    conn.close()
    before = _digest(path)
    with pytest.raises(DamagedStore, match="latest_metrics is missing"):
        mlflow.start_run()
    store.close_all()
    assert _digest(path) == before


def test_the_command_line_prints_one_line_for_a_damaged_store(tmp_path):
    path = tmp_path / "s.db"
    _store_with_runs(path, runs=1)
    _overwrite_root_page(path, "params")
    result = CliRunner().invoke(main, ["--tracking-uri", str(path), "runs", "list"])
    assert result.exit_code == 1
    assert result.output.startswith("Error: the store") and "damaged" in result.output
    assert result.output.count("\n") == 1


@pytest.mark.parametrize(
    "device",
    [
        "/dev/null",  # read as an empty file, SQLite would create /dev/null-journal
        "/dev/zero",
    ],
)
def test_devices_are_refused(device):
    before = set(os.listdir("/dev"))
    with pytest.raises(StoreError, match="not a regular file"):
        Database(device)
    mlflow.set_tracking_uri(device)
    with pytest.raises(StoreError, match="not a regular file"):
        mlflow.start_run()
    assert set(os.listdir("/dev")) <= before


def test_a_fifo_is_refused(tmp_path):
    fifo = tmp_path / "pipe.db"
    os.mkfifo(fifo)
    with pytest.raises(StoreError, match="not a regular file"):
        Database(fifo)


def test_a_foreign_database_in_wal_mode_is_left_byte_identical(tmp_path):
    path = tmp_path / "other.db"
    keeper = sqlite3.connect(path)  # its application keeps it open: the WAL holds commits
    keeper.execute("PRAGMA journal_mode = WAL")
    keeper.execute("PRAGMA wal_autocheckpoint = 0")
    keeper.execute("CREATE TABLE people (name TEXT)")
    keeper.execute("INSERT INTO people VALUES ('ada')")
    keeper.commit()
    wal = tmp_path / "other.db-wal"
    before = (_digest(path), _digest(wal))
    with pytest.raises(StoreError, match="foreign SQLite database"):
        Database(path)
    assert (_digest(path), _digest(wal)) == before
    keeper.close()


def test_a_closed_foreign_wal_database_gets_no_side_files(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("CREATE TABLE people (name TEXT)")
    conn.close()
    before = _digest(path)
    with pytest.raises(StoreError, match="foreign SQLite database"):
        Database(path)
    assert _digest(path) == before
    assert [p.name for p in tmp_path.iterdir()] == ["other.db"]


def test_a_new_store_in_an_unwritable_folder_is_a_clear_error(tmp_path, monkeypatch):
    # root writes anywhere; a folder on a read-only mount is checked by the test below
    monkeypatch.setattr(store_opening.os, "access", lambda path, mode: False)
    with pytest.raises(StoreError, match="is not writable"):
        Database(tmp_path / "new.db")
    assert not (tmp_path / "new.db").exists()


def test_a_failing_rollback_does_not_hide_the_error(tmp_path):
    db = Database(tmp_path / "s.db")
    with pytest.raises(ZeroDivisionError), db.write() as conn:
        conn.execute("ROLLBACK")  # the transaction is gone: the final ROLLBACK fails
        _ = 1 / 0


@pytest.mark.parametrize(
    ("statement", "args", "error", "message"),
    [
        # not a lock error: no "another process holds the store locked"
        ("SELECT * FROM no_such_table", (), DamagedStore, "no such table"),
        ("SELECT ?", (2**64,), InvalidParameter, "64-bit"),
        ("SELECT ?", ("a\ud800",), InvalidParameter, "surrogate"),
        ("SELECT " + " AND ".join(["1"] * 5000), (), InvalidParameter, "larger than SQLite"),
    ],
)
def test_statement_errors_are_translated(tmp_path, statement, args, error, message):
    db = Database(tmp_path / "s.db")
    with pytest.raises(error, match=message) as caught:
        db.query(statement, args)
    assert "locked" not in str(caught.value)
    with pytest.raises(error, match=message), db.read() as conn:
        conn.execute(statement, args)


def test_a_full_disk_says_so(tmp_path):
    db = Database(tmp_path / "s.db")
    with db.write() as conn:
        conn.execute("CREATE TEMP TABLE big (x)")
    pages = db.query("PRAGMA page_count")[0][0]
    with pytest.raises(StoreError, match=r"disk holding .* is full") as caught, db.write() as c:
        c.execute(f"PRAGMA max_page_count = {pages}")
        c.execute("INSERT INTO experiments (name, artifact_location, lifecycle_stage, "
                  "creation_time, last_update_time) VALUES (?, '', 'active', 0, 0)",
                  ("x" * 100_000,))  # fmt: skip
    assert "locked" not in str(caught.value)


_READ_ONLY_CHECK = """
import sys, nbtrack, nbtrack.pyfunc
from nbtrack.errors import ReadOnlyStore
nbtrack.set_tracking_uri(sys.argv[1])
df = nbtrack.search_runs(search_all_experiments=True)
print("runs", len(df), df["metrics.m0"].max())
run_id = df[df["params.p1"].notna()]["run_id"].iloc[0]
print("run", nbtrack.get_run(run_id).data.params["p1"])
print("model", nbtrack.pyfunc.load_model("models:/m/1").predict([[1.0]]).round(6).tolist())
panel = nbtrack.show_runs()
print("panel", "p1" in repr(panel) or "p1" in str(panel._repr_mimebundle_()))
print("card", "m" in str(nbtrack.model_card("m", 1)))
for write in (nbtrack.start_run, lambda: nbtrack.MlflowClient().set_tag(run_id, "t", "v")):
    try:
        write()
    except ReadOnlyStore as error:
        print("refused", "read-only" in str(error))
"""


def _bind_read_only(folder) -> list[str]:
    """A command prefix that runs a program in a mount namespace where ``folder`` is read-only."""
    mount = shutil.which("mount")
    if os.geteuid() != 0 or not shutil.which("unshare") or not mount:
        pytest.skip("a read-only bind mount needs root, unshare and mount")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode:
        pytest.skip(f"unshare -m is not permitted here: {probe.stderr.decode().strip()}")
    script = (
        f'mount --bind "{folder}" "{folder}" && mount -o remount,bind,ro "{folder}" && exec "$@"'
    )
    return ["unshare", "-m", "sh", "-c", script, "sh"]


def test_a_store_on_a_read_only_mount_is_read_only(tmp_path):
    from sklearn.linear_model import LinearRegression

    import nbtrack.sklearn

    folder = tmp_path / "ro"
    folder.mkdir()
    _store_with_runs(folder / "s.db", runs=2)
    mlflow.set_tracking_uri(str(folder / "s.db"))
    with mlflow.start_run():
        nbtrack.sklearn.log_model(
            LinearRegression().fit([[0.0], [1.0]], [0.0, 2.0]), name="m", registered_model_name="m"
        )
    store.close_all()
    before = _digest(folder / "s.db")
    script = tmp_path / "check.py"
    script.write_text(_READ_ONLY_CHECK)
    out = subprocess.run(
        [*_bind_read_only(folder), sys.executable, str(script), str(folder / "s.db")],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n") == [
        "runs 3 49.0",
        "run 1",
        "model [2.0]",
        "panel True",
        "card True",
        "refused True",
        "refused True",
        "",
    ]
    assert _digest(folder / "s.db") == before


def test_a_new_store_on_a_read_only_mount_is_a_clear_error(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    code = textwrap.dedent(
        f"""
        import nbtrack
        nbtrack.set_tracking_uri({str(folder / "new.db")!r})
        try:
            nbtrack.start_run()
        except nbtrack.NbtrackError as error:
            print(type(error).__name__, error)
        """
    )
    out = subprocess.run(
        [*_bind_read_only(folder), sys.executable, "-c", code],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("StoreError cannot create the store")
    assert "not writable" in out.stdout
