"""Asynchronous logging (``synchronous=False``): the call returns at once, a thread writes.

MLflow's API: ``log_metric(..., synchronous=False)`` and the other logging calls return a
:class:`RunOperations` whose ``wait()`` returns once what they logged has committed. One
background thread per process writes what is queued as soon as it is queued, in one
transaction per run for everything that queued up meanwhile; ``flush_async_logging()``,
``end_run`` (``set_terminated``) and interpreter exit wait for the queue to empty.
``MLFLOW_ENABLE_ASYNC_LOGGING=true`` makes this the default when ``synchronous`` is omitted.

This is the one mode in which a call can return before its data is durable: points still
queued when the process is killed (``kill -9``, a crashed kernel) are lost.

Keys and values are checked before the call returns, so bad input raises at once as in the
synchronous mode. What only the store can find (a deleted run, a param already logged with
another value) is kept and raised as :class:`~nbtrack.errors.AsyncLoggingError` by the
handle's ``wait()``, then by the next ``flush_async_logging()`` or ``end_run`` unless a
``wait()`` raised it already; at interpreter exit it is printed to stderr.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections import deque
from typing import TYPE_CHECKING

from nbtrack.errors import AsyncLoggingError, InvalidParameter
from nbtrack.store.metrics import MetricBatch

if TYPE_CHECKING:
    from collections.abc import Sequence

    from nbtrack.entities import Param, RunTag
    from nbtrack.store import TrackingStore

ENV_ASYNC = "MLFLOW_ENABLE_ASYNC_LOGGING"

# (seq, store, run_id, metric rows flat as in MetricBatch, params, tags, new run name)
_Item = tuple[
    int,
    "TrackingStore",
    str,
    "Sequence[object]",
    "Sequence[Param]",
    "Sequence[RunTag]",
    "str | None",
]


def is_async(synchronous: bool | None) -> bool:
    """Whether a logging call queues: ``synchronous=False``, or the environment says so."""
    if synchronous is not None:
        return not synchronous
    raw = os.environ.get(ENV_ASYNC)
    if raw is None:
        return False
    flag = raw.lower()
    if flag not in ("true", "false", "1", "0"):
        raise InvalidParameter(
            f"{ENV_ASYNC} must be one of true, false, 1, 0 (found {raw!r}); fix or unset it",
            argument=ENV_ASYNC,
            value=raw,
        )
    return flag in ("true", "1")


class RunOperations:
    """The handle an asynchronous logging call returns (MLflow's ``RunOperations``).

    ``wait()`` blocks until what the call logged has committed, and raises
    :class:`~nbtrack.errors.AsyncLoggingError` if the store refused it.
    """

    __slots__ = ("_queue", "_seq")

    def __init__(self, queue: LoggingQueue, seq: int) -> None:
        self._queue = queue
        self._seq = seq

    def wait(self) -> None:
        """Block until the operation has committed; raise what the store refused."""
        self._queue.wait_for(self._seq)
        self._queue.raise_failures(self._queue.take_failures(self._seq))

    def __repr__(self) -> str:
        state = "done" if self._queue.written >= self._seq else "queued"
        return f"<RunOperations {state}>"


class LoggingQueue:
    """Operations waiting for the writer thread, in the order they were queued."""

    def __init__(self) -> None:
        self._items: deque[_Item] = deque()
        self._put_lock = threading.Lock()  # numbers and queue order agree across threads
        self.queued = 0  # the last sequence number handed out
        self.written = 0  # every operation up to this one is committed or has failed
        self._failures: dict[int, Exception] = {}
        self._unreported: list[int] = []
        self._written_cond = threading.Condition()
        self._wake = threading.Event()
        self._idle = True
        self._thread: threading.Thread | None = None

    # -- the caller's side ------------------------------------------------------------

    def put(
        self,
        store: TrackingStore,
        run_id: str,
        metrics: Sequence[object] = (),
        params: Sequence[Param] = (),
        tags: Sequence[RunTag] = (),
        run_name: str | None = None,
    ) -> RunOperations:
        """Queue checked data for a run; return its handle at once.

        ``metrics`` are flat rows as in ``MetricBatch.flat``; ``run_name`` renames the run.
        """
        if self._thread is None:
            self._start()
        with self._put_lock:
            seq = self.queued = self.queued + 1
            self._items.append((seq, store, run_id, metrics, params, tags, run_name))
        if self._idle:  # the writer sleeps: wake it (it checks the queue before sleeping)
            self._idle = False
            self._wake.set()
        return RunOperations(self, seq)

    def wait_for(self, seq: int) -> None:
        """Block until every operation up to ``seq`` has been written (or has failed)."""
        if self.written >= seq:
            return
        with self._written_cond:
            while self.written < seq:
                self._written_cond.wait(0.1)

    def settle(self) -> list[Exception]:
        """Wait for the queue to empty; return (and forget) the failures not yet raised."""
        self.wait_for(self.queued)
        with self._written_cond:
            found = [self._failures[seq] for seq in self._unreported]
            self._unreported.clear()
        return found

    def take_failures(self, seq: int) -> list[Exception]:
        """The failure of one operation, if any (it will not be raised again by a flush)."""
        with self._written_cond:
            if seq in self._unreported:
                self._unreported.remove(seq)
            return [self._failures[seq]] if seq in self._failures else []

    @staticmethod
    def raise_failures(failures: list[Exception]) -> None:
        """Raise what the writer thread could not write, as one error."""
        if failures:
            raise _refused(failures)

    # -- the writer thread ------------------------------------------------------------

    def _start(self) -> None:
        with self._written_cond:
            if self._thread is None:
                thread = threading.Thread(target=self._run, name="nbtrack-async-log", daemon=True)
                thread.start()
                self._thread = thread
                atexit.register(self._flush_at_exit)

    def _run(self) -> None:
        while True:
            self._idle = True
            if not self._items:
                self._wake.wait(1.0)
            self._wake.clear()
            self._idle = False
            batch: list[_Item] = []
            while self._items:
                batch.append(self._items.popleft())
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Item]) -> None:
        failures: dict[int, Exception] = {}
        for segment in _segments(batch):
            try:
                _write_items(segment)
            except Exception:
                # one transaction failed: write each operation alone to find the culprits
                for item in segment:
                    try:
                        _write_items([item])
                    except Exception as exc:  # kept for wait()/flush/end_run
                        exc.__traceback__ = None  # the message says it all; frames not kept
                        failures[item[0]] = exc
        with self._written_cond:
            self._failures.update(failures)
            self._unreported.extend(failures)
            self.written = batch[-1][0]
            self._written_cond.notify_all()

    def _flush_at_exit(self) -> None:
        failures = self.settle()
        if failures:
            print(f"nbtrack: {_refused(failures)}", file=sys.stderr)

    def _forget_after_fork(self) -> None:
        """In a forked child: the parent writes what it queued; this process starts afresh."""
        self._items = deque()
        self._put_lock = threading.Lock()
        self._written_cond = threading.Condition()
        self._wake = threading.Event()
        self._idle = True
        self._thread = None
        self.written = self.queued


def _refused(failures: list[Exception]) -> AsyncLoggingError:
    found = "; ".join(f"{type(e).__name__}: {e}" for e in failures)
    return AsyncLoggingError(
        f"{len(failures)} asynchronous logging operation(s) were refused by the store and "
        f"not written ({found}); fix the calls, or log synchronously to see each error "
        "where it happens",
        failures=failures,
        run_id=getattr(failures[0], "run_id", None),
    )


def _segments(batch: list[_Item]) -> list[list[_Item]]:
    """Consecutive operations on the same store and run, each written in one transaction."""
    segments: list[list[_Item]] = []
    for item in batch:
        last = segments[-1][-1] if segments else None
        if last is not None and last[1] is item[1] and last[2] == item[2]:
            segments[-1].append(item)
        else:
            segments.append([item])
    return segments


def _write_items(items: list[_Item]) -> None:
    _, store, run_id = items[0][:3]
    flat = [column for item in items for column in item[3]]
    params = [p for item in items for p in item[4]]
    tags = [t for item in items for t in item[5]]
    store.log_batch(run_id, MetricBatch.from_flat(flat) if flat else None, params, tags)
    for item in items:
        if item[6] is not None:
            store.update_run_info(run_id, None, None, item[6])


QUEUE = LoggingQueue()
os.register_at_fork(after_in_child=QUEUE._forget_after_fork)


def drain() -> None:
    """Wait until what is queued has been written, leaving any failure to be raised later.

    Synchronous writes call it so that they land after what was queued before them, and
    reads so that a process reads what it logged (cheap when nothing is queued).
    """
    if QUEUE.queued != QUEUE.written:
        QUEUE.wait_for(QUEUE.queued)


def flush_async_logging() -> None:
    """Wait until everything logged asynchronously has been written (MLflow's name).

    Raises
    ------
    AsyncLoggingError
        If the store refused something queued since the last flush whose handle's
        ``wait()`` did not already raise it.
    """
    QUEUE.raise_failures(QUEUE.settle())


def flush_artifact_async_logging() -> None:
    """Wait for asynchronously logged artifacts (MLflow's name).

    Artifacts are always written before the call that logs them returns, so there is
    never anything to wait for.
    """
