"""System metrics as MLflow records them, sampled by a background thread while a run is active.

Every ``sampling_interval`` seconds a thread samples CPU, memory, disk and network (and each
NVIDIA GPU, when ``pynvml`` finds one); every ``samples_before_logging`` samples it logs their
mean as ordinary metrics of the run, at steps 0, 1, 2…, named as MLflow names them:
``system/cpu_utilization_percentage``, ``system/system_memory_usage_megabytes``,
``system/system_memory_usage_percentage``, ``system/disk_usage_percentage``,
``system/disk_usage_megabytes``, ``system/disk_available_megabytes``,
``system/network_receive_megabytes``, ``system/network_transmit_megabytes`` and
``system/gpu_<i>_…``. A node id (``set_system_metrics_node_id``) makes them
``system/<node>/…``.

It is on for a run with ``start_run(log_system_metrics=True)``, or for every run with
``enable_system_metrics_logging()`` or ``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true``. The
settings live in MLflow's environment variables, so child processes inherit them. psutil
(``pip install 'nbtrack[system-metrics]'``) is imported only when a monitor starts.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import Any

from nbtrack.client import MlflowClient
from nbtrack.entities import Metric, RunStatus
from nbtrack.errors import InvalidParameter, missing
from nbtrack.store.sql import now_ms

ENV_ENABLE = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
ENV_SAMPLING_INTERVAL = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
ENV_SAMPLES_BEFORE_LOGGING = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
ENV_NODE_ID = "MLFLOW_SYSTEM_METRICS_NODE_ID"
DEFAULT_SAMPLING_INTERVAL = 10.0
DEFAULT_SAMPLES_BEFORE_LOGGING = 1
PREFIX = "system/"

__all__ = [
    "SystemMetricsMonitor",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "is_enabled",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
]


# -- settings ---------------------------------------------------------------------------------


def enable_system_metrics_logging() -> None:
    """Log system metrics for every run started from now on (``log_system_metrics`` aside)."""
    os.environ[ENV_ENABLE] = "true"


def disable_system_metrics_logging() -> None:
    """Stop logging system metrics for runs started from now on."""
    os.environ[ENV_ENABLE] = "false"


def is_enabled() -> bool:
    """Whether system metrics are on for runs that do not say (``MLFLOW_ENABLE_…``)."""
    return os.environ.get(ENV_ENABLE, "false").strip().lower() in ("true", "1")


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Seconds between samples (default 10); None restores the default."""
    _set(ENV_SAMPLING_INTERVAL, interval, float, "interval")


def set_system_metrics_samples_before_logging(samples: int | None) -> None:
    """How many samples are averaged into each logged point (default 1); None: the default."""
    _set(ENV_SAMPLES_BEFORE_LOGGING, samples, int, "samples")


def set_system_metrics_node_id(node_id: str | None) -> None:
    """Log as ``system/<node_id>/…`` (several machines in one run); None: no node id."""
    if node_id is None:
        os.environ.pop(ENV_NODE_ID, None)
    else:
        os.environ[ENV_NODE_ID] = str(node_id)


def _set(var: str, value: Any, kind: type, what: str) -> None:
    if value is None:
        os.environ.pop(var, None)
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise InvalidParameter(f"{what} must be a positive number (found {value!r})")
    if kind is int and int(value) != value:
        raise InvalidParameter(f"{what} must be a whole number (found {value!r})")
    os.environ[var] = str(kind(value))


def _setting(var: str, kind: Callable[[str], Any], default: Any) -> Any:
    text = os.environ.get(var)
    if not text:
        return default
    try:
        value = kind(text)
    except ValueError:
        raise InvalidParameter(
            f"{var}={text!r} is not a positive number; unset it or fix its value"
        ) from None
    if value <= 0:
        raise InvalidParameter(f"{var}={text!r} must be positive; unset it or fix its value")
    return value


# -- samplers ---------------------------------------------------------------------------------


class _Sampler:
    """Collects samples of some metrics; ``aggregate`` gives the values to log."""

    def __init__(self) -> None:
        self.samples: dict[str, list[float]] = {}

    def add(self, key: str, value: float) -> None:
        self.samples.setdefault(key, []).append(float(value))

    def aggregate(self) -> dict[str, float]:
        """The mean of each metric's samples, rounded as MLflow rounds them; then reset."""
        means = {k: round(sum(v) / len(v), 1) for k, v in self.samples.items() if v}
        self.samples = {}
        return means


class _CPU(_Sampler):
    def __init__(self, psutil: Any):
        super().__init__()
        self.psutil = psutil

    def collect(self) -> None:
        self.add("cpu_utilization_percentage", self.psutil.cpu_percent())
        memory = self.psutil.virtual_memory()
        self.add("system_memory_usage_megabytes", memory.used / 1e6)
        self.add("system_memory_usage_percentage", memory.used / memory.total * 100)


class _Disk(_Sampler):
    def __init__(self, psutil: Any):
        super().__init__()
        self.psutil = psutil

    def collect(self) -> None:
        usage = self.psutil.disk_usage(os.sep)
        self.add("disk_usage_percentage", usage.percent)
        self.add("disk_usage_megabytes", usage.used / 1e6)
        self.add("disk_available_megabytes", usage.free / 1e6)


class _Network(_Sampler):
    """Megabytes received and sent since the monitor started (not averaged, as in MLflow)."""

    def __init__(self, psutil: Any):
        super().__init__()
        self.psutil = psutil
        start = psutil.net_io_counters()
        self.received, self.sent = start.bytes_recv, start.bytes_sent
        self.latest: dict[str, float] = {}

    def collect(self) -> None:
        now = self.psutil.net_io_counters()
        self.latest = {
            "network_receive_megabytes": (now.bytes_recv - self.received) / 1e6,
            "network_transmit_megabytes": (now.bytes_sent - self.sent) / 1e6,
        }

    def aggregate(self) -> dict[str, float]:
        return dict(self.latest)


class _GPU(_Sampler):
    """NVIDIA GPUs through pynvml: memory, utilization and power of each device."""

    def __init__(self, pynvml: Any):
        super().__init__()
        self.nvml = pynvml
        self.handles = [
            pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())
        ]

    def collect(self) -> None:
        for i, handle in enumerate(self.handles):
            memory = self.nvml.nvmlDeviceGetMemoryInfo(handle)
            self.add(f"gpu_{i}_memory_usage_percentage", memory.used / memory.total * 100)
            self.add(f"gpu_{i}_memory_usage_megabytes", memory.used / 1e6)
            rates = self.nvml.nvmlDeviceGetUtilizationRates(handle)
            self.add(f"gpu_{i}_utilization_percentage", rates.gpu)
            power = self.nvml.nvmlDeviceGetPowerUsage(handle) / 1000
            limit = self.nvml.nvmlDeviceGetEnforcedPowerLimit(handle) / 1000
            self.add(f"gpu_{i}_power_usage_watts", power)
            self.add(f"gpu_{i}_power_usage_percentage", power / limit * 100 if limit else 0.0)


def _gpu_sampler() -> _GPU | None:
    """A GPU sampler when pynvml is installed and finds a GPU; else None (no GPU metrics)."""
    try:
        import pynvml  # type: ignore[import-not-found]

        pynvml.nvmlInit()
        sampler = _GPU(pynvml)
    except Exception:  # no pynvml, no driver, no device: the machine has no GPU to report
        return None
    return sampler if sampler.handles else None


def _samplers() -> list[Any]:
    try:
        import psutil
    except ImportError as error:
        raise missing("psutil", "system-metrics", "system metrics logging") from error
    samplers: list[Any] = [_CPU(psutil), _Disk(psutil), _Network(psutil)]
    if gpu := _gpu_sampler():
        samplers.append(gpu)
    return samplers


# -- the monitor ------------------------------------------------------------------------------


class SystemMetricsMonitor:
    """Samples system metrics in a daemon thread and logs them to one run until stopped.

    Parameters
    ----------
    run_id
        The run to log to; the monitor stops by itself when the run is no longer RUNNING.
    tracking_uri
        The store the run is in.
    resume_logging
        Continue from the run's last ``system/`` step (a resumed run) instead of step 0.
    """

    def __init__(self, run_id: str, tracking_uri: str, resume_logging: bool = False):
        self.run_id = run_id
        self.client = MlflowClient(tracking_uri)
        self.sampling_interval = _setting(ENV_SAMPLING_INTERVAL, float, DEFAULT_SAMPLING_INTERVAL)
        self.samples_before_logging = _setting(
            ENV_SAMPLES_BEFORE_LOGGING, int, DEFAULT_SAMPLES_BEFORE_LOGGING
        )
        node = os.environ.get(ENV_NODE_ID)
        self.prefix = f"{PREFIX}{node}/" if node else PREFIX
        self.samplers = _samplers()
        self.step = self._next_step() if resume_logging else 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _next_step(self) -> int:
        keys = [k for k in self.client.get_run(self.run_id).data.metrics if k.startswith(PREFIX)]
        steps = [m.step for k in keys for m in self.client.get_metric_history(self.run_id, k)]
        return max(steps) + 1 if steps else 0

    def start(self) -> None:
        """Start the sampling thread."""
        self._thread = threading.Thread(
            target=self._loop, name=f"nbtrack-system-metrics-{self.run_id[:8]}", daemon=True
        )
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            for _ in range(self.samples_before_logging):
                self.collect()
                if self._stop.wait(self.sampling_interval) or not self._running():
                    return
            try:
                self.publish()
            except Exception:  # the store went away under the run: nothing left to log to
                return

    def _running(self) -> bool:
        try:
            return self.client.get_run(self.run_id).info.status == RunStatus.RUNNING
        except Exception:  # the run or the store is gone: stop quietly, as MLflow does
            return False

    def collect(self) -> None:
        """Take one sample of every metric."""
        for sampler in self.samplers:
            sampler.collect()

    def publish(self) -> None:
        """Log the mean of the samples taken since the last publish, at the next step."""
        values: dict[str, float] = {}
        for sampler in self.samplers:
            values.update(sampler.aggregate())
        if not values:
            return
        ts = now_ms()
        points = [Metric(self.prefix + k, v, ts, self.step) for k, v in values.items()]
        self.client.log_batch(self.run_id, metrics=points)
        self.step += 1

    def finish(self) -> None:
        """Stop the thread and wait for it (the run is about to end)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
