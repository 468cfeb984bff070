"""How metric values are stored: NaN and ±inf encoded as MLflow does, batches as flat rows.

SQLite has no NaN, so a metric row holds ``(value, is_nan)``: NaN is stored as 0 with
``is_nan = 1`` and ±inf as ±``DBL_MAX``, as in MLflow's SQL store. The encoding stays in the
store: everything read out of it (runs, run tables, histories) is decoded here first.

A batch of metrics travels as one flat list, six values per point (run id, key, value,
timestamp, step, is_nan), because multi-row ``VALUES`` inserts of such a list are several
times faster than objects per point; :class:`MetricBatch` gives its columns by name.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import chain, repeat
from operator import attrgetter

from nbtrack.entities import Metric

DBL_MAX = 1.7976931348623157e308
ROW_WIDTH = 6  # run_uuid, key, value, timestamp, step, is_nan
_FIELDS = ("key", "value", "timestamp", "step")


def encode_value(value: float) -> tuple[float, int]:
    """A metric value as stored: (value, is_nan), ±inf clamped as MLflow does."""
    if math.isnan(value):
        return 0.0, 1
    if math.isinf(value):
        return (DBL_MAX if value > 0 else -DBL_MAX), 0
    return value, 0


def decode_value(value: float, is_nan: int) -> float:
    """The metric value a stored (value, is_nan) pair stands for."""
    if is_nan:
        return math.nan
    if value >= DBL_MAX:
        return math.inf
    if value <= -DBL_MAX:
        return -math.inf
    return value


class MetricBatch:
    """Metric points of one run as the store's flat rows, with their columns by name.

    Built from ``Metric`` objects without checking them; the client checks the columns
    (``keys``, ``values``, ``timestamps``, ``steps``) and the store encodes the values.
    """

    def __init__(self, run_id: str, metrics: Sequence[Metric]):
        n = len(metrics)
        columns = (repeat(run_id, n), *(map(attrgetter(a), metrics) for a in _FIELDS))
        self.flat: list[object] = list(
            chain.from_iterable(zip(*columns, repeat(0, n), strict=True))
        )

    @classmethod
    def from_flat(cls, flat: list[object]) -> MetricBatch:
        """A batch of rows already flat (``ROW_WIDTH`` columns each), such as queued points."""
        batch = cls("", ())
        batch.flat = flat
        return batch

    def __len__(self) -> int:
        return len(self.flat) // ROW_WIDTH

    @property
    def keys(self) -> list[object]:
        """The key of each point."""
        return self.flat[1::ROW_WIDTH]

    @property
    def values(self) -> list[object]:
        """The value of each point, as given."""
        return self.flat[2::ROW_WIDTH]

    @property
    def timestamps(self) -> list[object]:
        """The timestamp of each point."""
        return self.flat[3::ROW_WIDTH]

    @property
    def steps(self) -> list[object]:
        """The step of each point."""
        return self.flat[4::ROW_WIDTH]

    def encoded(self) -> list[object]:
        """The flat rows with NaN and ±inf stored as MLflow stores them (changed in place)."""
        flat = self.flat
        values = flat[2::ROW_WIDTH]
        if not all(map(math.isfinite, values)):  # type: ignore[arg-type]
            for i, value in enumerate(values):
                if not math.isfinite(value):  # type: ignore[arg-type]
                    at = ROW_WIDTH * i
                    flat[at + 2], flat[at + 5] = encode_value(value)  # type: ignore[arg-type]
        return flat
