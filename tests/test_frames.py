"""The runs DataFrame: equal to the row-by-row construction it replaced, and linear."""

from __future__ import annotations

import json
import math
import random
import sqlite3
import statistics
import time
import uuid
import warnings
from collections.abc import Sequence

import pandas as pd
import pytest

import nbtrack
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.frames import runs_frame
from nbtrack.store.frame_rows import _json_array
from nbtrack.store.tracking import TrackingStore

KEYS = ["a", "b", "loss", "x.y", "Ünï", "z z", "10", "2"]


def reference_frame(store: TrackingStore, run_ids: Sequence[str]) -> pd.DataFrame:
    """The construction runs_frame had before (a dict lookup per stored row)."""
    table = store.run_table(run_ids)
    info = {row.run_id: row for row in table.runs}
    order = [rid for rid in run_ids if rid in info]
    index = {rid: i for i, rid in enumerate(order)}
    n = len(order)
    data: dict[str, list] = {
        "run_id": order,
        "experiment_id": [info[r].experiment_id for r in order],
        "status": [info[r].status for r in order],
        "artifact_uri": [info[r].artifact_uri for r in order],
        "start_time": [info[r].start_time for r in order],
        "end_time": [info[r].end_time for r in order],
    }
    groups: dict[str, dict[str, list]] = {"metrics": {}, "params": {}, "tags": {}}
    for rid, key, value in table.metrics:
        groups["metrics"].setdefault(key, [math.nan] * n)[index[rid]] = value
    for prefix, rows in (("params", table.params), ("tags", table.tags)):
        for rid, key, text in rows:
            groups[prefix].setdefault(key, [None] * n)[index[rid]] = text
    for prefix, columns in groups.items():
        for key in sorted(columns):
            data[f"{prefix}.{key}"] = columns[key]
    frame = pd.DataFrame(data)
    for column in ("start_time", "end_time"):
        frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame


def _random_store(seed: int) -> tuple[TrackingStore, list[str]]:
    """Runs in two experiments with random, sparse metrics, params and tags."""
    rng = random.Random(seed)
    client = nbtrack.MlflowClient()
    experiments = ["0", client.create_experiment(f"e{seed}")]
    special = [math.nan, math.inf, -math.inf, 0.0, -0.0, 1e308, 1.7976931348623157e308]
    ids = []
    for _ in range(rng.randint(0, 25)):
        run = client.create_run(rng.choice(experiments))
        metrics = [
            Metric(k, rng.choice([rng.random(), rng.choice(special)]), 1, rng.randint(0, 3))
            for k in rng.sample(KEYS, rng.randint(0, 4))
        ]
        params = [Param(k, rng.choice(["", "0.1", "α"])) for k in rng.sample(KEYS, 3)]
        tags = [RunTag(k, str(rng.random())) for k in rng.sample(KEYS, rng.randint(0, 2))]
        client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=tags)
        if rng.random() < 0.5:
            client.set_terminated(run.info.run_id, rng.choice(["FINISHED", "FAILED"]))
        ids.append(run.info.run_id)
    return client.store, ids


def _assert_same(ours: pd.DataFrame, theirs: pd.DataFrame) -> None:
    assert list(ours.columns) == list(theirs.columns)
    assert list(ours.dtypes) == list(theirs.dtypes)
    pd.testing.assert_frame_equal(ours, theirs, check_exact=True)
    assert ours.isna().equals(theirs.isna())  # None, NaN and NaT where the old frame had them


@pytest.mark.parametrize("seed", range(8))
def test_same_frame_as_the_row_by_row_construction(seed: int) -> None:
    store, ids = _random_store(seed)
    rng = random.Random(seed)
    asked = [*ids, uuid.uuid4().hex]  # an id naming no run is left out
    rng.shuffle(asked)
    for subset in (asked, asked[: len(asked) // 2], asked[:1], []):
        _assert_same(runs_frame(store, subset), reference_frame(store, subset))


def test_search_runs_frame_is_the_reference_frame() -> None:
    store, _ = _random_store(99)
    frame = nbtrack.search_runs(search_all_experiments=True)
    _assert_same(frame, reference_frame(store, list(frame["run_id"])))


def _insert_runs(store: TrackingStore, n: int) -> list[str]:
    """n runs of 3 metrics, 5 params and a tag, written straight in SQL (seconds, not minutes)."""
    ids = [uuid.uuid4().hex for _ in range(n)]
    with store.db.write() as c:
        c.executemany(
            "INSERT INTO runs (run_uuid, name, experiment_id, user_id, status, start_time, "
            "end_time, artifact_uri) VALUES (?, ?, 0, 'u', 'FINISHED', ?, ?, ?)",
            [(r, f"run-{i}", i, i + 5, f"/a/{r}") for i, r in enumerate(ids)],
        )
        c.executemany(
            "INSERT INTO latest_metrics (run_uuid, key, value, timestamp, step, is_nan) "
            "VALUES (?, ?, ?, 0, 0, 0)",
            [(r, k, i * 0.5) for i, r in enumerate(ids) for k in ("rmse", "mae", "r2")],
        )
        c.executemany(
            "INSERT INTO params (run_uuid, key, value) VALUES (?, ?, ?)",
            [(r, k, str(i)) for i, r in enumerate(ids) for k in ("a", "b", "c", "d", "seed")],
        )
        c.executemany(
            "INSERT INTO tags (run_uuid, key, value) VALUES (?, 'mlflow.runName', ?)",
            [(r, f"run-{i}") for i, r in enumerate(ids)],
        )
    return ids


@pytest.mark.slow
def test_ten_times_the_runs_cost_at_most_fifteen_times_the_time() -> None:
    """10,000 runs against 1,000: CPU-time medians, interleaved, so load elsewhere cancels."""
    store = nbtrack.MlflowClient().store
    ids = _insert_runs(store, 10_000)
    small, large = ids[:1000], ids
    assert runs_frame(store, large).shape == (10_000, 6 + 3 + 5 + 1)
    times: dict[int, list[float]] = {1000: [], 10_000: []}
    for _ in range(7):
        for chosen in (small, large):
            t0 = time.process_time()
            runs_frame(store, chosen)
            times[len(chosen)].append(time.process_time() - t0)
    ratio = statistics.median(times[10_000]) / statistics.median(times[1000])
    assert ratio <= 15, f"10,000 runs took {ratio:.1f}x the time of 1,000"


@pytest.mark.parametrize(
    "value",
    [
        "a\x1fb",  # the packing's separator inside a value: that key is read row by row
        "\x1f",
        ",",  # the lookup indices' separator, harmless in values
        "",
    ],
)
def test_any_text_value_comes_back_whole(value: str) -> None:
    client = nbtrack.MlflowClient()
    ids = []
    for i in range(3):
        run = client.create_run("0")
        client.log_batch(
            run.info.run_id,
            params=[Param("p", value if i != 1 else "plain"), Param("q", str(i))],
            tags=[RunTag("t", value)],
        )
        ids.append(run.info.run_id)
    frame = runs_frame(client.store, ids)
    _assert_same(frame, reference_frame(client.store, ids))
    assert list(frame["params.p"]) == [value, "plain", value]


def test_an_artifact_location_holding_the_separator_reads_the_runs_row_by_row(
    tmp_path,
) -> None:
    client = nbtrack.MlflowClient()
    odd = client.create_experiment("odd", artifact_location=str(tmp_path / "a\x1fb"))
    ids = [client.create_run(e).info.run_id for e in (odd, "0", odd)]
    client.set_terminated(ids[1])
    frame = runs_frame(client.store, ids)
    _assert_same(frame, reference_frame(client.store, ids))
    assert "\x1f" in frame["artifact_uri"][0]


def test_strings_kept_as_objects_when_pandas_is_told_to() -> None:
    """``future.infer_string`` off (pandas 2's default): text columns of Python objects."""
    store, _ = _random_store(5)
    with warnings.catch_warnings():  # pandas 3 deprecates the option; the switch is the test
        warnings.simplefilter("ignore")
        pd.set_option("future.infer_string", False)
    try:
        frame = nbtrack.search_runs(search_all_experiments=True)
        _assert_same(frame, reference_frame(store, list(frame["run_id"])))
        assert frame["status"].dtype == object
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.reset_option("future.infer_string")


@pytest.mark.skipif(not hasattr(sqlite3.Connection, "setlimit"), reason="Python 3.11's setlimit")
def test_columns_longer_than_sqlites_longest_string_are_read_row_by_row() -> None:
    client = nbtrack.MlflowClient()
    ids = []
    for i in range(20):
        run = client.create_run("0")
        client.log_batch(
            run.info.run_id,
            metrics=[Metric("m", i, 1, 0)],
            params=[Param("p", f"{i:03d}" * 40), Param("q", str(i))],
            tags=[RunTag("t", "x" * 100)],
        )
        ids.append(run.info.run_id)
    conn = client.store.db.conn
    longest = conn.getlimit(sqlite3.SQLITE_LIMIT_LENGTH)
    conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, 1500)  # the ids fit, no joined column does
    try:
        frame = runs_frame(client.store, ids)
    finally:
        conn.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, longest)
    _assert_same(frame, reference_frame(client.store, ids))


@pytest.mark.parametrize(
    "ids",
    [[], [""], ["a"], ["a", "b"], ['a"b', "c"], ["a\\b"], ["é", "x"], ["a\x00"], ['","'], ["a,b"]],
)
def test_the_id_list_bound_to_sqlite_is_the_json_of_the_ids(ids: list[str]) -> None:
    assert json.loads(_json_array(ids)) == ids
