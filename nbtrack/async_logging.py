"""Waiting for logging that is still in flight: ``flush_async_logging`` and its artifact twin.

nbtrack writes every metric, param, tag and artifact before the call that logs it returns
(``synchronous`` arguments are accepted and have nothing to change), so nothing is ever
queued and flushing has nothing to wait for. Both public functions go through
:func:`flush`, the one hook to re-point when a background writer exists.
"""

from __future__ import annotations

__all__ = ["flush", "flush_artifact_async_logging", "flush_async_logging"]


def flush(*, artifacts: bool) -> None:
    """Block until queued logging is durable (metrics/params/tags, or artifacts).

    Parameters
    ----------
    artifacts
        True for the artifact queue, False for the metric, param and tag queue.

    Every write is synchronous today, so both queues are always empty and this returns at once.
    """
    del artifacts  # nothing is queued: every write is durable when its call returns


def flush_async_logging() -> None:
    """Wait for asynchronously logged metrics, params and tags (MLflow's name); see flush."""
    flush(artifacts=False)


def flush_artifact_async_logging() -> None:
    """Wait for asynchronously logged artifacts (MLflow's name); see flush."""
    flush(artifacts=True)
