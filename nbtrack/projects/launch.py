"""Running an MLproject entry point as a child process, under one run.

``run_project`` checks everything first (the MLproject file, the entry point, every
parameter, the environment), then creates the run, starts the entry point's command with
``bash -c`` in the project folder, in its own process group, with the run's id in
``NBTRACK_RUN_ID`` and ``MLFLOW_RUN_ID``, and copies its output through. The exit status
ends the run: 0 FINISHED, anything else FAILED with the last lines of output stored as
``output_tail.txt``; Ctrl-C stops the child's whole process group and ends it KILLED.
"""

from __future__ import annotations

import collections
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any

from nbtrack.client import MlflowClient
from nbtrack.entities import RunStatus
from nbtrack.errors import ExecutionException, ProjectSpecError
from nbtrack.projects import envs, record
from nbtrack.projects.spec import load_project

TAIL_LINES = 100
STOP_GRACE_S = 5.0


@dataclass
class SubmittedRun:
    """A launched run, as MLflow's ``SubmittedRun``: ``wait()``, ``get_status()``, ``cancel()``."""

    run_id: str
    process: subprocess.Popen[bytes]
    client: MlflowClient
    command: str
    clone: str | None = None  # a temporary checkout (--version), removed at the end
    _tail: collections.deque[str] = field(
        default_factory=lambda: collections.deque(maxlen=TAIL_LINES)
    )
    _reader: threading.Thread | None = None
    _status: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait(self) -> bool:
        """Wait for the child to exit and end the run; True if it FINISHED."""
        try:
            code = self.process.wait()
        except KeyboardInterrupt:
            self.cancel()
            raise
        if self._reader is not None:  # a process it started may hold the output open
            self._reader.join(timeout=STOP_GRACE_S)
        self._end(record.status_of(code), code)
        return self._status == RunStatus.FINISHED

    def get_status(self) -> str:
        """RUNNING while the child runs, then the run's final status."""
        if self._status is not None:
            return self._status
        code = self.process.poll()
        return RunStatus.RUNNING if code is None else record.status_of(code)

    def cancel(self) -> None:
        """Stop the child's process group (SIGTERM, then SIGKILL) and end the run KILLED."""
        stop_process_group(self.process)
        if self._reader is not None:
            self._reader.join(timeout=STOP_GRACE_S)
        self._end(RunStatus.KILLED, self.process.returncode)

    def _end(self, status: str, code: int | None) -> None:
        with self._lock:
            if self._status is not None:
                return
            self._status = status
        failure = None
        if status != RunStatus.FINISHED:
            failure = f"$ {self.command}\n" + "".join(self._tail)
            failure += f"\n[exit status {code}]\n" if code is not None else ""
        record.finish(self.client, self.run_id, status, exit_code=code, failure_text=failure)
        if self.clone is not None:
            shutil.rmtree(self.clone, ignore_errors=True)


def stop_process_group(process: subprocess.Popen[Any]) -> None:
    """SIGTERM the process group led by ``process``, SIGKILL it if still there after a grace."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, STOP_GRACE_S), (signal.SIGKILL, None)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue
    process.wait()


def fetch_project(uri: str, version: str | None) -> tuple[str, str, str | None]:
    """(folder to run in, absolute URI to record, temporary folder to remove or None).

    ``uri`` is a local folder (``folder#subdirectory`` as in MLflow); with ``version`` it
    must be a git repository, cloned into a temporary folder at that commit, tag or branch.
    """
    base, _, subdirectory = uri.partition("#")
    if base.startswith("file://"):
        base = base[len("file://") :]
    source = os.path.abspath(os.path.expanduser(base))
    if not os.path.isdir(source):
        raise ProjectSpecError(
            f"project {uri!r} is not a local folder ({source} does not exist); nbtrack runs "
            "local folders, local git repositories (with --version) and notebooks",
            name=uri,
        )
    if version is None:
        return _subfolder(source, subdirectory, uri), source, None
    if shutil.which("git") is None:
        raise ProjectSpecError("--version needs git, which is not on PATH; install git")
    if _git(source, "rev-parse", "--git-dir").returncode != 0:
        raise ProjectSpecError(
            f"--version {version!r} needs a git repository, but {source} is not one; "
            "drop --version to run the folder as it is",
            name=uri,
        )
    clone = tempfile.mkdtemp(prefix="nbtrack-project-")
    done = _git(clone, "clone", "--quiet", "--no-checkout", source, ".")
    if done.returncode == 0:
        done = _git(clone, "checkout", "--quiet", version)
    if done.returncode != 0:
        shutil.rmtree(clone, ignore_errors=True)
        raise ProjectSpecError(
            f"version {version!r} of {source} cannot be checked out "
            f"({done.stderr.strip()}); `git -C {source} log --oneline` lists the commits",
            name=uri,
        )
    return _subfolder(clone, subdirectory, uri), source, clone


def _subfolder(root: str, subdirectory: str, uri: str) -> str:
    folder = os.path.join(root, subdirectory) if subdirectory else root
    if not os.path.isdir(folder):
        raise ProjectSpecError(f"project {uri!r} has no subfolder {subdirectory!r}", name=uri)
    return folder


def _git(cwd: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, check=False)


def check_parameters(
    uri: str, entry_point: str, version: str | None, parameters: Mapping[str, Any]
) -> None:
    """Check an entry point's parameter values without running anything."""
    work_dir, _, clone = fetch_project(uri, version)
    try:
        entry = load_project(work_dir).entry_point(entry_point)
        entry.compute_parameters(dict(parameters), work_dir, os.getcwd())
    finally:
        if clone is not None:
            shutil.rmtree(clone, ignore_errors=True)


def run_project(
    uri: str,
    entry_point: str = "main",
    version: str | None = None,
    parameters: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    env_manager: str | None = None,
    synchronous: bool = True,
    parent_run_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> SubmittedRun:
    """Run an entry point of an MLproject folder as one run; see ``nbtrack.projects.run``."""
    parameters = dict(parameters or {})
    work_dir, source, clone = fetch_project(uri, version)
    try:
        project = load_project(work_dir)
        entry = project.entry_point(entry_point)
        declared, extra = entry.compute_parameters(parameters, work_dir, os.getcwd())
        command = entry.render(declared, extra)
        manager = envs.resolve_manager(project, env_manager)
        activate = envs.prepare(project, manager)
        client = MlflowClient()
        parent = record.parent_of(parent_run_id)
        experiment = record.experiment_id(client, experiment_name, experiment_id, parent)
        run_id = record.create_run(
            client,
            experiment,
            kind="mlproject",
            source_name=source,
            uri=source,
            parameters=parameters,
            logged_params={**declared, **extra},
            run_name=run_name,
            parent_run_id=parent,
            tags={
                record.ENTRY_POINT: entry_point,
                record.ENV: manager,
                **({record.VERSION: version} if version else {}),
                **(tags or {}),
            },
            source_dir=work_dir,
        )
        env = {**record.child_environment(client, run_id, experiment), **activate}
        submitted = _start(client, run_id, command, work_dir, env)
    except BaseException:
        if clone is not None:
            shutil.rmtree(clone, ignore_errors=True)
        raise
    submitted.clone = clone
    if synchronous and not submitted.wait():
        raise ExecutionException(
            f"run {run_id} {submitted.get_status()}: {command!r} exited with status "
            f"{submitted.process.returncode}; the tail of its output is the run's artifact "
            f"{record.OUTPUT_TAIL_FILE}",
            run_id=run_id,
        )
    return submitted


def _start(
    client: MlflowClient,
    run_id: str,
    command: str,
    work_dir: str,
    env: dict[str, str],
) -> SubmittedRun:
    print(f"=== Running command '{command}' in run with ID '{run_id}' ===", file=sys.stderr)
    try:
        process = subprocess.Popen(
            ["bash", "-c", command],
            cwd=work_dir,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: Ctrl-C reaches it through us
        )
    except OSError as exc:
        record.finish(client, run_id, RunStatus.FAILED, failure_text=f"$ {command}\n{exc}\n")
        raise ExecutionException(f"cannot start {command!r}: {exc}", run_id=run_id) from exc
    submitted = SubmittedRun(run_id, process, client, command)
    reader = threading.Thread(
        target=_copy_output,
        args=(process, submitted._tail, sys.stdout),
        name=f"nbtrack-run-{run_id[:8]}",
        daemon=True,
    )
    submitted._reader = reader
    reader.start()
    return submitted


def _copy_output(
    process: subprocess.Popen[bytes], tail: collections.deque[str], output: IO[str]
) -> None:
    """Pass the child's output through, line by line, keeping the last lines."""
    if process.stdout is None:  # never: Popen was given stdout=PIPE
        return
    for raw in iter(process.stdout.readline, b""):
        line = raw.decode("utf-8", errors="replace")
        tail.append(line)
        try:
            output.write(line)
            output.flush()
        except (OSError, ValueError):  # our own output closed: keep draining the child
            continue
    process.stdout.close()
