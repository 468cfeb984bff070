"""The artifact folder: contained paths, no staging files left behind, clear write errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

import nbtrack as mlflow
from nbtrack.artifacts import uri_to_path
from nbtrack.errors import InvalidParameter


@pytest.fixture
def run_root():
    run = mlflow.start_run()
    root = uri_to_path(run.info.artifact_uri)
    root.mkdir(parents=True, exist_ok=True)
    return run, root


def _everything_under(root) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize(
    ("artifact_file", "message"),
    [
        ("dir/", "names a folder"),  # wrote a file named 'dir'
        ("dir/.", "names a folder"),  # left a .tmp- file
        ("a\0b.txt", "NUL"),  # left a .tmp- file
        ("a" * 300 + ".txt", "longer than the 255"),  # left a .tmp- file
        ("é" * 130 + ".txt", "longer than the 255"),  # 264 bytes in UTF-8
        ("a\ud800.txt", "surrogate"),  # raw UnicodeEncodeError
        (".tmp-x.txt", "keeps for files being written"),  # would be hidden by list_artifacts
    ],
)
def test_bad_artifact_names_write_nothing(run_root, artifact_file, message):
    _, root = run_root
    mlflow.log_text("kept", "kept.txt")
    with pytest.raises(InvalidParameter, match=message):
        mlflow.log_text("t", artifact_file)
    assert _everything_under(root) == ["kept.txt"]


def test_a_failed_write_removes_its_staging_file(run_root, tmp_path):
    # a real write failure: the file size limit makes write() fail with EFBIG
    run, root = run_root
    code = textwrap.dedent(
        f"""
        import resource, signal, nbtrack
        from nbtrack.errors import StoreError
        nbtrack.set_tracking_uri({str(tmp_path / "nbtrack.db")!r})
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
        try:
            nbtrack.MlflowClient().log_text({run.info.run_id!r}, "x" * 100_000, "big.txt")
        except StoreError as error:
            print(error)
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert "big.txt" in out.stdout and "could not be written" in out.stdout
    assert _everything_under(root) == []


def test_symlinks_cannot_lead_out_of_the_run_folder(run_root, tmp_path):
    run, root = run_root
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret").write_text("not yours")
    (root / "lnk").symlink_to(outside)
    client = mlflow.MlflowClient()
    with pytest.raises(InvalidParameter, match="leads outside"):
        mlflow.log_text("x", "lnk/f.txt")
    with pytest.raises(InvalidParameter, match="leads outside"):
        client.download_artifacts(run.info.run_id, "lnk/secret", str(tmp_path / "dl"))
    with pytest.raises(InvalidParameter, match="leads outside"):
        client.log_artifact(run.info.run_id, str(outside / "secret"), "lnk")
    with pytest.raises(InvalidParameter, match="leads outside"):
        client.list_artifacts(run.info.run_id, "lnk")
    # a whole-folder download leaves the link out rather than reading through it
    copy = client.download_artifacts(run.info.run_id, "", str(tmp_path / "all"))
    assert os.listdir(copy) == []
    assert sorted(os.listdir(outside)) == ["secret"]
    assert (outside / "secret").read_text() == "not yours"


_SLOW_LOG_MODEL = """
import sys, time, nbtrack, nbtrack.sklearn
import nbtrack.models.sklearn as flavor
from sklearn.linear_model import LinearRegression
nbtrack.set_tracking_uri(sys.argv[1])
def slow_dump(*args, **kwargs):
    print("saving", flush=True)
    time.sleep(60)
flavor.dump = slow_dump
with nbtrack.start_run(run_id=sys.argv[2]):
    nbtrack.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), name="m")
"""


@pytest.mark.slow
def test_staging_left_by_killed_writers_is_swept(fresh_store, run_root, tmp_path):
    from sklearn.linear_model import LinearRegression

    import nbtrack.sklearn

    run, root = run_root
    script = tmp_path / "slow.py"
    script.write_text(_SLOW_LOG_MODEL)
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(fresh_store), run.info.run_id],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    for proc in procs:  # all four are inside log_model, each with its staging folder
        assert proc.stdout.readline() == "saving\n"
    for proc in procs:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
    assert len([p for p in os.listdir(root) if p.startswith(".tmp-")]) == 4
    nbtrack.sklearn.log_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), name="m")
    assert os.listdir(root) == ["m"]
