"""Property-based tests: arbitrary keys, values and call orders against a model of the store.

A hypothesis state machine drives the public client API (create runs, log params, metrics
and tags, delete tags, end, delete and restore runs, batches) with keys and values drawn
from everything a user could pass, valid or not. A plain-Python model says what the store
must hold; after every step the store is compared with it. A refused call must raise an
``NbtrackError`` (never anything else) and change nothing.
"""

from __future__ import annotations

import math
import posixpath
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    rule,
)

from nbtrack import MlflowClient, store
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.store.metrics import DBL_MAX

INT64 = 2**63
_KEY = re.compile(r"[\w\-. /:]+")


def valid_key(key: str) -> bool:
    """The key rule, written out independently of nbtrack.validation (MLflow's)."""
    if not 0 < len(key) <= 250 or not _KEY.fullmatch(key):
        return False
    norm = posixpath.normpath(key)
    return norm == key and norm != "." and not norm.startswith(("..", "/"))


def storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# Keys: plausible ones, path-like ones, and anything at all (surrogates included).
keys = st.one_of(
    st.sampled_from(["a", "loss", "val/acc", "x.y", "k-1", "a b", "e:1", "mlflow.note"]),
    st.text(alphabet="ab./-_ :\n\\", min_size=0, max_size=6),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=8),
    st.just("k" * 251),
)
texts = st.one_of(
    st.text(max_size=20),
    st.text(alphabet=st.characters(codec=None, exclude_categories=()), max_size=5),
    st.integers(5995, 6005).map(lambda n: "v" * n),
    st.integers(7995, 8005).map(lambda n: "t" * n),
)
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda x: abs(x) != DBL_MAX),
    st.integers(-(2**70), 2**70),
)
steps = st.one_of(st.integers(-5, 5), st.integers(-(2**64), 2**64))


def same_number(a: float, b: float) -> bool:
    return a == b or (math.isnan(a) and math.isnan(b))


class StoreMachine(RuleBasedStateMachine):
    """The store against a dict of runs: params, tags, metric histories, status, stage."""

    runs = Bundle("runs")

    @initialize()
    def open_store(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="nbtrack-props-"))
        self.client = MlflowClient(str(self.folder / "s.db"))
        self.model: dict[str, dict] = {}
        self.clock = 1_000  # distinct timestamps: the latest point is never a tie

    def teardown(self) -> None:
        store.close_all()
        if hasattr(self, "folder"):
            shutil.rmtree(self.folder, ignore_errors=True)

    def _refused(self, call, *args) -> None:
        with pytest.raises(NbtrackError):
            call(*args)

    # -- rules -------------------------------------------------------------------------

    @rule(target=runs)
    def create_run(self) -> str:
        run_id = self.client.create_run("0").info.run_id
        self.model[run_id] = {
            "params": {},
            "tags": {},
            "metrics": {},
            "status": "RUNNING",
            "stage": "active",
        }
        return run_id

    @rule(run=runs, key=keys, value=texts)
    def log_param(self, run: str, key: str, value: str) -> None:
        state = self.model[run]
        ok = (
            valid_key(key)
            and storable(value)
            and len(value) <= 6000
            and state["stage"] == "active"
            and state["params"].get(key, value) == value
        )
        if not ok:
            return self._refused(self.client.log_param, run, key, value)
        self.client.log_param(run, key, value)
        state["params"][key] = value

    @rule(run=runs, key=keys, value=texts)
    def set_tag(self, run: str, key: str, value: str) -> None:
        state = self.model[run]
        ok = valid_key(key) and storable(value) and len(value) <= 8000
        if not ok or state["stage"] != "active":
            return self._refused(self.client.set_tag, run, key, value)
        self.client.set_tag(run, key, value)
        state["tags"][key] = value

    @rule(run=runs, data=st.data())
    def delete_tag(self, run: str, data: st.DataObject) -> None:
        # run ids are random: draw only from what depends on the steps (the tag keys)
        if not self.model[run]["tags"] or self.model[run]["stage"] != "active":
            return
        key = data.draw(st.sampled_from(sorted(self.model[run]["tags"])))
        self.client.delete_tag(run, key)
        del self.model[run]["tags"][key]

    @rule(run=runs, key=keys, value=numbers, step=steps)
    def log_metric(self, run: str, key: str, value: float, step: int) -> None:
        state = self.model[run]
        self.clock += 1
        try:
            as_float = float(value)
        except OverflowError:
            as_float = None
        ok = (
            valid_key(key)
            and as_float is not None
            and abs(as_float) != DBL_MAX
            and -INT64 <= step < INT64
            and state["stage"] == "active"
        )
        if not ok:
            return self._refused(self.client.log_metric, run, key, value, self.clock, step)
        self.client.log_metric(run, key, value, timestamp=self.clock, step=step)
        state["metrics"].setdefault(key, []).append((step, self.clock, as_float))

    @rule(run=runs, items=st.lists(st.tuples(keys, texts), max_size=4))
    def log_batch(self, run: str, items: list[tuple[str, str]]) -> None:
        """A batch of tags is all or nothing."""
        state = self.model[run]
        tags = [RunTag(k, v) for k, v in items]
        ok = all(valid_key(k) and storable(v) and len(v) <= 8000 for k, v in items)
        if not ok or state["stage"] != "active":
            return self._refused(self.client.log_batch, run, [], [], tags)
        self.client.log_batch(run, tags=tags)
        state["tags"].update(dict(items))

    @rule(run=runs, status=st.sampled_from(["FINISHED", "FAILED", "KILLED", "bogus"]))
    def end_run(self, run: str, status: str) -> None:
        if status == "bogus" or self.model[run]["stage"] != "active":
            return self._refused(self.client.set_terminated, run, status)
        self.client.set_terminated(run, status)
        self.model[run]["status"] = status

    @rule(run=runs)
    def delete_or_restore(self, run: str) -> None:
        state = self.model[run]
        if state["stage"] == "active":
            self.client.delete_run(run)
            state["stage"] = "deleted"
        else:
            self.client.restore_run(run)
            state["stage"] = "active"

    @rule(run=consumes(runs), key=keys)
    def batch_with_a_bad_param_changes_nothing(self, run: str, key: str) -> None:
        """A batch holding one refused param logs none of its metrics or tags."""
        bad = Param("", "x")  # an empty key is never valid
        with pytest.raises(InvalidParameter):
            self.client.log_batch(
                run, metrics=[Metric("m", 1.0, self.clock, 0)], params=[bad], tags=[]
            )

    # -- what the store must hold --------------------------------------------------------

    @invariant()
    def store_matches_model(self) -> None:
        if not hasattr(self, "model"):
            return
        for run_id, state in self.model.items():
            got = self.client.get_run(run_id)
            assert got.data.params == state["params"]
            user_tags = {k: v for k, v in got.data.tags.items() if k in state["tags"]}
            assert user_tags == state["tags"]
            assert got.info.status == state["status"]
            assert got.info.lifecycle_stage == state["stage"]
            assert set(got.data.metrics) == set(state["metrics"])
            for key, points in state["metrics"].items():
                latest = max(points, key=lambda p: (p[0], p[1]))
                assert same_number(got.data.metrics[key], latest[2])
                history = self.client.get_metric_history(run_id, key)
                assert sorted((m.step, m.timestamp) for m in history) == sorted(
                    (p[0], p[1]) for p in points
                )

    @invariant()
    def search_sees_every_active_run(self) -> None:
        if not hasattr(self, "model"):
            return
        found = {r.info.run_id for r in self.client.search_runs(["0"], max_results=1000)}
        assert found == {r for r, s in self.model.items() if s["stage"] == "active"}


_FAST = settings(
    max_examples=20,
    stateful_step_count=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
_THOROUGH = settings(_FAST, max_examples=300, stateful_step_count=50)


class TestStoreMachine(StoreMachine.TestCase):
    settings = _FAST


@pytest.mark.slow
class TestStoreMachineThoroughly(StoreMachine.TestCase):
    settings = _THOROUGH
