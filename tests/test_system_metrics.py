"""System metrics: a real sampling thread (psutil) logging MLflow's system/ metrics to a run."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import pytest

import nbtrack
from nbtrack import system_metrics
from nbtrack.errors import InvalidParameter
from nbtrack.system_metrics import SystemMetricsMonitor

CPU_AND_MEMORY = {
    "system/cpu_utilization_percentage",
    "system/system_memory_usage_megabytes",
    "system/system_memory_usage_percentage",
}
DISK_AND_NETWORK = {
    "system/disk_usage_percentage",
    "system/disk_usage_megabytes",
    "system/disk_available_megabytes",
    "system/network_receive_megabytes",
    "system/network_transmit_megabytes",
}


@pytest.fixture(autouse=True)
def fast_sampling(monkeypatch):
    """Sample every 50 ms; every setting restored after the test."""
    for var in (
        system_metrics.ENV_ENABLE,
        system_metrics.ENV_SAMPLES_BEFORE_LOGGING,
        system_metrics.ENV_NODE_ID,
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv(system_metrics.ENV_SAMPLING_INTERVAL, "0.05")


def wait_for_metrics(run_id: str, steps: int = 1, timeout: float = 10.0) -> dict[str, float]:
    client = nbtrack.MlflowClient()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        metrics = client.get_run(run_id).data.metrics
        key = "system/cpu_utilization_percentage"
        if key in metrics and len(client.get_metric_history(run_id, key)) >= steps:
            return metrics
        time.sleep(0.05)
    raise AssertionError(f"no system metrics after {timeout} s")


def monitor_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("nbtrack-system-metrics")]


def test_a_run_with_log_system_metrics_records_mlflows_names():
    with nbtrack.start_run(log_system_metrics=True) as run:
        metrics = wait_for_metrics(run.info.run_id, steps=2)
        assert monitor_threads()
    assert not monitor_threads()  # end_run stopped the thread
    assert set(metrics) >= CPU_AND_MEMORY | DISK_AND_NETWORK
    assert 0 <= metrics["system/system_memory_usage_percentage"] <= 100
    assert metrics["system/system_memory_usage_megabytes"] > 0
    history = nbtrack.MlflowClient().get_metric_history(
        run.info.run_id, "system/cpu_utilization_percentage"
    )
    assert [m.step for m in history][:2] == [0, 1]
    count = len(history)
    time.sleep(0.2)
    after = nbtrack.MlflowClient().get_metric_history(
        run.info.run_id, "system/cpu_utilization_percentage"
    )
    assert len(after) == count  # nothing is logged once the run has ended


def test_no_system_metrics_unless_asked():
    with nbtrack.start_run() as run:
        time.sleep(0.2)
    assert not [k for k in nbtrack.get_run(run.info.run_id).data.metrics if k.startswith("system/")]


def test_enable_and_disable_globally():
    nbtrack.enable_system_metrics_logging()
    with nbtrack.start_run() as run:
        wait_for_metrics(run.info.run_id)
    nbtrack.disable_system_metrics_logging()
    with nbtrack.start_run() as quiet:
        time.sleep(0.2)
    assert not nbtrack.get_run(quiet.info.run_id).data.metrics
    nbtrack.enable_system_metrics_logging()
    with nbtrack.start_run(log_system_metrics=False) as refused:
        time.sleep(0.2)
    assert not nbtrack.get_run(refused.info.run_id).data.metrics


def test_the_environment_variable_turns_it_on(monkeypatch):
    monkeypatch.setenv("MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING", "true")
    with nbtrack.start_run() as run:
        wait_for_metrics(run.info.run_id)


def test_samples_are_averaged_and_network_is_cumulative():
    nbtrack.set_system_metrics_samples_before_logging(3)
    with nbtrack.start_run() as run:
        monitor = SystemMetricsMonitor(run.info.run_id, nbtrack.get_tracking_uri())
        assert monitor.samples_before_logging == 3
        for _ in range(3):
            monitor.collect()
        cpu = monitor.samplers[0].samples["system_memory_usage_megabytes"]
        assert len(cpu) == 3
        expected = round(sum(cpu) / 3, 1)
        monitor.publish()
        monitor.publish()  # nothing new sampled for CPU: only network is logged again
    client = nbtrack.MlflowClient()
    memory = client.get_metric_history(run.info.run_id, "system/system_memory_usage_megabytes")
    assert [(m.step, m.value) for m in memory] == [(0, expected)]
    network = client.get_metric_history(run.info.run_id, "system/network_receive_megabytes")
    assert [m.step for m in network] == [0, 1]


def test_node_id_prefix_and_resumed_runs_continue_their_steps():
    nbtrack.set_system_metrics_node_id("node_0")
    with nbtrack.start_run() as run:
        monitor = SystemMetricsMonitor(run.info.run_id, nbtrack.get_tracking_uri())
        monitor.collect()
        monitor.publish()
    assert (
        "system/node_0/cpu_utilization_percentage" in nbtrack.get_run(run.info.run_id).data.metrics
    )
    nbtrack.set_system_metrics_node_id(None)
    with nbtrack.start_run(run_id=run.info.run_id, log_system_metrics=True):
        wait_for_metrics(run.info.run_id)
    history = nbtrack.MlflowClient().get_metric_history(
        run.info.run_id, "system/node_0/cpu_utilization_percentage"
    )
    resumed = SystemMetricsMonitor(run.info.run_id, nbtrack.get_tracking_uri(), True)
    assert resumed.step >= 1 and [m.step for m in history] == [0]


def test_the_thread_stops_when_the_run_ends_elsewhere():
    run = nbtrack.start_run(log_system_metrics=True)
    wait_for_metrics(run.info.run_id)
    nbtrack.MlflowClient().set_terminated(run.info.run_id)
    deadline = time.monotonic() + 5
    while monitor_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not monitor_threads()
    nbtrack.end_run()


@pytest.mark.parametrize(
    ("setter", "value"),
    [
        (nbtrack.set_system_metrics_sampling_interval, 0),
        (nbtrack.set_system_metrics_sampling_interval, "fast"),
        (nbtrack.set_system_metrics_samples_before_logging, 1.5),
        (nbtrack.set_system_metrics_samples_before_logging, -2),
    ],
)
def test_bad_settings(setter, value):
    with pytest.raises(InvalidParameter):
        setter(value)


def test_a_bad_environment_value_fails_at_start_run(monkeypatch):
    monkeypatch.setenv(system_metrics.ENV_SAMPLING_INTERVAL, "soon")
    with pytest.raises(InvalidParameter, match="MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"):
        SystemMetricsMonitor("r", nbtrack.get_tracking_uri())


def test_settings_reset_to_defaults():
    nbtrack.set_system_metrics_sampling_interval(None)
    nbtrack.set_system_metrics_samples_before_logging(None)
    with nbtrack.start_run() as run:
        monitor = SystemMetricsMonitor(run.info.run_id, nbtrack.get_tracking_uri())
    assert monitor.sampling_interval == 10.0
    assert monitor.samples_before_logging == 1


def test_psutil_is_not_imported_by_import_nbtrack():
    code = "import sys, nbtrack; print('psutil' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
