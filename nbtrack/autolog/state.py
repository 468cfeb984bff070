"""What the scikit-learn patch shares at run time.

Its configuration, the busy flag, and the way values become params and metrics (as
MLflow's autologging client records them).

``BUSY`` is held (process-wide) while autolog logs a fit or watches a prediction, so that
every fit reached from inside it (a Pipeline's steps, a search's clones, a forest's trees
fitted in worker threads) runs untouched and is logged once, at the outermost call.
Worker processes never log: they import this module afresh (``config`` is None there), and
a forked child sees a ``pid`` that is not its own.
"""

from __future__ import annotations

import os
import threading
import warnings
from dataclasses import dataclass, field
from typing import Any

from nbtrack.entities import Metric, Param
from nbtrack.store.sql import now_ms
from nbtrack.validation import MAX_PARAM_VALUE_LENGTH

BUSY = threading.Lock()
FLAVOR = "sklearn"


@dataclass(frozen=True)
class Config:
    """The arguments autolog was enabled with, and the process that enabled it."""

    log_input_examples: bool = False
    log_model_signatures: bool = True
    log_models: bool = True
    log_datasets: bool = True
    exclusive: bool = False
    silent: bool = False
    max_tuning_runs: int | None = None
    log_post_training_metrics: bool = True
    serialization_format: str = "skops"
    registered_model_name: str | None = None
    pos_label: Any = None
    extra_tags: dict[str, str] = field(default_factory=dict)
    pid: int = field(default_factory=os.getpid)

    def arguments(self) -> dict[str, Any]:
        """The keyword arguments of ``autolog`` that give this configuration."""
        return {k: v for k, v in self.__dict__.items() if k != "pid"}


config: Config | None = None


def active() -> Config | None:
    """The configuration in force in this process, or None when autolog is off here."""
    current = config
    if current is None or current.pid != os.getpid():
        return None
    return current


def warn_failure(error: BaseException, stacklevel: int) -> None:
    """Tell the user once that autologging failed (their fit itself went on)."""
    current = config
    if current is not None and current.silent:
        return
    warnings.warn(
        f"nbtrack: autologging failed: {error}", RuntimeWarning, stacklevel=stacklevel + 1
    )


def estimator_tags(estimator: Any) -> dict[str, str]:
    """MLflow's ``estimator_name`` and ``estimator_class`` tags."""
    cls = type(estimator)
    return {"estimator_name": cls.__name__, "estimator_class": f"{cls.__module__}.{cls.__name__}"}


def to_params(values: dict[str, Any]) -> list[Param]:
    """Params from any values: ``str()`` of each, cut to MLflow's length limit.

    MLflow's autologging truncates the same way (an estimator's repr can be long).
    """
    return [Param(str(k), str(v)[:MAX_PARAM_VALUE_LENGTH]) for k, v in values.items()]


def to_metrics(values: dict[str, float], step: int = 0) -> list[Metric]:
    """Metrics at one time and step from a dict of numbers."""
    ts = now_ms()
    return [Metric(k, float(v), ts, step) for k, v in values.items()]
