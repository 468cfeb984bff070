"""A store file deleted or replaced under an open store: the next run starts a fresh one.

SQLite would otherwise keep writing to the deleted file's inode, invisible to everyone:
a notebook that deletes its store in its first cell and is run again would pile every
round's runs into a file nobody can see.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

import pytest

import nbtrack
from nbtrack.errors import StoreError


def _run_ids_in(db: Path) -> set[str]:
    """The run ids the file at this path holds, read with plain sqlite3."""
    conn = sqlite3.connect(db)
    try:
        return {row[0] for row in conn.execute("SELECT run_uuid FROM runs")}
    finally:
        conn.close()


def _runs(n: int, nested: bool = False) -> set[str]:
    ids = set()
    for i in range(n):
        with nbtrack.start_run(nested=nested) as run:
            nbtrack.log_metric("m", i)
        ids.add(run.info.run_id)
    return ids


def _delete_store_files(db: Path) -> None:
    for path in db.parent.glob(db.name + "*"):
        path.unlink()
    shutil.rmtree(db.parent / f"{db.stem}-artifacts", ignore_errors=True)


def _use(tmp_path: Path) -> Path:
    db = tmp_path / "store" / "runs.db"
    db.parent.mkdir()
    nbtrack.set_tracking_uri(f"sqlite:///{db}")
    return db


def test_files_deleted_between_runs_the_new_file_holds_exactly_the_new_runs(
    tmp_path: Path,
) -> None:
    db = _use(tmp_path)
    ids = _runs(3)
    assert _run_ids_in(db) == ids
    for _ in range(2):  # as a notebook run again: delete, then the same URI
        _delete_store_files(db)
        nbtrack.set_tracking_uri(f"sqlite:///{db}")
        ids = _runs(2)
        assert _run_ids_in(db) == ids


def test_deleted_without_setting_the_uri_again_the_next_run_starts_a_fresh_store(
    tmp_path: Path,
) -> None:
    db = _use(tmp_path)
    nbtrack.set_experiment("gone")
    _runs(2)
    _delete_store_files(db)
    new = _runs(1)  # the experiment went with the file: the run goes to Default
    assert _run_ids_in(db) == new
    assert nbtrack.get_run(next(iter(new))).info.experiment_id == "0"
    assert [e.name for e in nbtrack.search_experiments()] == ["Default"]


def test_store_folder_deleted_and_made_again(tmp_path: Path) -> None:
    db = _use(tmp_path)
    _runs(2)
    shutil.rmtree(db.parent)
    db.parent.mkdir()
    ids = _runs(2)
    assert _run_ids_in(db) == ids


def test_store_folder_deleted_for_good_is_a_clear_error(tmp_path: Path) -> None:
    db = _use(tmp_path)
    _runs(1)
    shutil.rmtree(db.parent)
    with pytest.raises(StoreError, match="does not exist; create it"):
        nbtrack.start_run()
    assert not db.parent.exists()


def test_file_replaced_by_another_store_is_the_one_written(tmp_path: Path) -> None:
    db = _use(tmp_path)
    first = _runs(1)
    other = tmp_path / "other.db"
    nbtrack.set_tracking_uri(f"sqlite:///{other}")
    kept = _runs(1)
    nbtrack.set_tracking_uri(f"sqlite:///{db}")
    nbtrack.MlflowClient(str(other)).store.db.close()  # its writes all in its main file now
    _delete_store_files(db)  # a store's -wal must never meet another store's file
    os.replace(other, db)
    assert _run_ids_in(db) == kept
    new = _runs(1)
    assert _run_ids_in(db) == kept | new
    assert not first & _run_ids_in(db)


def test_a_new_client_after_the_deletion_sees_the_fresh_store(tmp_path: Path) -> None:
    db = _use(tmp_path)
    _runs(2)
    _delete_store_files(db)
    client = nbtrack.MlflowClient()
    run = client.create_run("0")
    assert _run_ids_in(db) == {run.info.run_id}
    assert client.search_runs(["0"])[0].info.run_id == run.info.run_id


def test_panels_opened_after_the_deletion_read_the_fresh_store(tmp_path: Path) -> None:
    db = _use(tmp_path)
    with nbtrack.start_run() as old_parent:
        _runs(2, nested=True)
    assert len(nbtrack.show_sweep(old_parent.info.run_id, live=False).run_ids) == 2
    _delete_store_files(db)
    nbtrack.set_tracking_uri(f"sqlite:///{db}")
    with nbtrack.start_run() as parent:
        ids = _runs(3, nested=True)
    sweep = nbtrack.show_sweep(parent.info.run_id, live=False)
    assert set(sweep.run_ids) == ids  # not the old file's runs, nor none
    table = nbtrack.show_runs(live=False)
    assert table.content is not None and table.content.total == 4  # the new file's 4 runs


def test_store_left_alone_is_not_reopened(tmp_path: Path) -> None:
    _use(tmp_path)
    _runs(1)
    db = nbtrack.MlflowClient().store.db
    conn = db.conn
    _runs(2)
    assert db.conn is conn
    assert not db.reopen_if_replaced()


def test_only_the_database_file_deleted_its_old_wal_is_not_replayed(tmp_path: Path) -> None:
    db = _use(tmp_path)
    _runs(2)
    assert Path(f"{db}-wal").exists()
    db.unlink()
    ids = _runs(1)
    assert _run_ids_in(db) == ids


# The first cell of the demo notebooks, then runs, as Run All sends them to a kernel.
FIRST_CELL = """
import shutil
from pathlib import Path
import nbtrack
for old in Path().glob("demo.db*"):
    old.unlink()
shutil.rmtree("demo-artifacts", ignore_errors=True)
nbtrack.set_tracking_uri("sqlite:///demo.db")
nbtrack.set_experiment("demo")
"""
RUNS_CELL = """
for i in range(4):
    with nbtrack.start_run():
        nbtrack.log_metric("m", i)
print("ids:" + ",".join(r.info.run_id for r in nbtrack.search_runs(output_format="list")))
"""


def test_a_kernel_running_the_notebook_three_times_keeps_only_the_last_round(
    tmp_path: Path,
) -> None:
    from jupyter_client.manager import start_new_kernel

    km, kc = start_new_kernel(kernel_name="python3", cwd=str(tmp_path), env=dict(os.environ))
    try:
        for _ in range(3):
            _execute(kc, FIRST_CELL)
            shown = _execute(kc, RUNS_CELL)
            ids = set(shown.split("ids:")[1].strip().split(","))
            assert len(ids) == 4
            assert _run_ids_in(tmp_path / "demo.db") == ids
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)


def _execute(kc, code: str) -> str:
    """Run one cell in the kernel; its printed output, or the error it raised."""
    msg_id = kc.execute(code)
    streams = []
    while True:
        reply = kc.get_iopub_msg(timeout=120)
        if reply["parent_header"].get("msg_id") != msg_id:
            continue
        if reply["msg_type"] == "stream":
            streams.append(reply["content"]["text"])
        if reply["msg_type"] == "error":
            raise AssertionError("\n".join(reply["content"]["traceback"]))
        if reply["msg_type"] == "status" and reply["content"]["execution_state"] == "idle":
            return "".join(streams)
