"""A notebook run as a project: parameters injected, executed in a fresh kernel, one run.

Papermill's convention: the values are injected in a new cell (tagged
``injected-parameters``) right after the cell tagged ``parameters``, whose assignments are
the defaults and, by their values or annotations, the parameters' types; papermill
writes the injected cell. The copy runs in a fresh kernel (nbclient) in the notebook's
folder, with the run's id in ``NBTRACK_RUN_ID``/``MLFLOW_RUN_ID``, so
``nbtrack.start_run()`` (or ``%%track``, or logging with no run) in the notebook continues
the launch's run. The executed notebook is
stored as an artifact of the run (also when a cell fails); a failing cell ends the run
FAILED with that cell's traceback stored as ``traceback.txt``.
"""

from __future__ import annotations

import ast
import asyncio
import os
import re
import sys
import threading
import traceback
from collections.abc import Callable, Coroutine, Iterator, Mapping
from typing import Any

from nbtrack.client import MlflowClient
from nbtrack.entities import RunStatus
from nbtrack.errors import ExecutionException, ProjectSpecError, missing
from nbtrack.projects import record

TRACEBACK_FILE = "traceback.txt"
DEFAULT_KERNEL = "python3"
STOP_POLL_S = 0.2
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_TYPES: dict[str, type] = {"float": float, "int": int, "str": str, "bool": bool}


def is_notebook(uri: str) -> bool:
    """Whether a project URI names a notebook file."""
    return uri.lower().endswith(".ipynb")


def _papermill() -> Any:
    try:
        import papermill.parameterize
    except ImportError as exc:
        raise missing("papermill", "projects", "running a notebook as a project") from exc
    return papermill


def declared_parameters(nb: Any) -> dict[str, str]:
    """The names the first cell tagged ``parameters`` assigns: name → type name.

    The type is the annotation (``alpha: float = 0.5``), else the type of the literal
    default (papermill reads the cell the same way).
    """
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            try:
                tree = ast.parse(cell.source)
            except SyntaxError:
                return {}
            return dict(_assignments(tree))
    return {}


def _assignments(tree: ast.Module) -> Iterator[tuple[str, str]]:
    for node in tree.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            yield node.target.id, ast.unparse(node.annotation)
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    yield target.id, _literal_type(node.value)


def _literal_type(node: ast.expr) -> str:
    try:
        return type(ast.literal_eval(node)).__name__
    except (ValueError, TypeError, SyntaxError):
        return "None"


def typed_parameters(path: str, given: Mapping[str, Any]) -> dict[str, Any]:
    """The given values, checked against the ``parameters`` cell and converted to its types.

    A text value (from the command line) takes the type of the parameter's default
    (``0.5`` → float); values given from Python keep their type.
    """
    import nbformat

    declared = declared_parameters(nbformat.read(path, as_version=4))
    if given and not declared:
        raise ProjectSpecError(
            f"{path} has no cell tagged 'parameters' (papermill's convention) to take "
            f"{', '.join(map(repr, given))}: add the tag to the cell that sets their defaults",
            name=path,
        )
    typed = {}
    for name, value in given.items():
        if name not in declared:
            raise ProjectSpecError(
                f"{path} has no parameter {name!r}; its 'parameters' cell sets "
                f"{', '.join(declared)}",
                name=name,
            )
        typed[name] = _convert(name, value, declared[name]) if isinstance(value, str) else value
    return typed


def _convert(name: str, text: str, type_name: str) -> Any:
    kind = _TYPES.get(type_name.split("[")[0].strip().lower())
    if kind is str:
        return text
    if kind is bool:
        if text.lower() not in ("true", "false"):
            raise ProjectSpecError(
                f"parameter {name!r} is a bool: give True or False (found {text!r})", name=name
            )
        return text.lower() == "true"
    if kind is not None:
        try:
            return kind(text)
        except ValueError:
            raise ProjectSpecError(
                f"parameter {name!r} is {kind.__name__} in the notebook's parameters cell "
                f"(found {text!r})",
                name=name,
            ) from None
    try:  # no or an unknown default type: a Python literal, else text
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def run_notebook(
    path: str,
    parameters: Mapping[str, Any] | None = None,
    experiment_name: str | None = None,
    experiment_id: str | None = None,
    run_name: str | None = None,
    parent_run_id: str | None = None,
    kernel_name: str | None = None,
    tags: Mapping[str, str] | None = None,
    raise_on_failure: bool = True,
    stop: threading.Event | None = None,
) -> str:
    """Execute a parameterised copy of a notebook in a fresh kernel as one run; its id.

    Setting ``stop`` (a sweep interrupted) shuts the kernel down and ends the run KILLED.
    """
    import nbformat

    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise ProjectSpecError(f"notebook {path} does not exist", name=path)
    values = typed_parameters(path, dict(parameters or {}))
    nb = nbformat.read(path, as_version=4)
    kernel = kernel_name or nb.metadata.get("kernelspec", {}).get("name") or DEFAULT_KERNEL
    _check_kernel(kernel)
    if values:
        for cell in nb.cells:  # what papermill's own loader sets up
            cell.metadata.setdefault("tags", [])
        nb.metadata.setdefault("papermill", {})
        nb = _papermill().parameterize.parameterize_notebook(
            nb, values, kernel_name=kernel, language="python"
        )
    client = MlflowClient()
    parent = record.parent_of(parent_run_id)
    experiment = record.experiment_id(client, experiment_name, experiment_id, parent)
    name = os.path.basename(path)
    run_id = record.create_run(
        client,
        experiment,
        kind="notebook",
        source_name=path,
        uri=path,
        parameters=values,
        logged_params={k: str(v) for k, v in values.items()},
        run_name=run_name,
        parent_run_id=parent,
        tags={record.ENTRY_POINT: name, record.ENV: "local", **(tags or {})},
        source_dir=os.path.dirname(path),
    )
    env = record.child_environment(client, run_id, experiment)
    print(f"=== Running notebook '{path}' in run with ID '{run_id}' ===", file=sys.stderr)
    status, failure = _execute(nb, path, kernel, env, stop)
    client.log_text(run_id, nbformat.writes(nb), name)
    record.finish(client, run_id, status, failure_text=failure, failure_file=TRACEBACK_FILE)
    if status == RunStatus.KILLED and stop is None:
        raise KeyboardInterrupt
    if status == RunStatus.FAILED and raise_on_failure:
        error = next((line for line in reversed((failure or "").splitlines()) if line), "")
        raise ExecutionException(
            f"run {run_id} FAILED: a cell of {name} raised {error}; its traceback is the "
            f"run's artifact {TRACEBACK_FILE}, the executed notebook the artifact {name}",
            run_id=run_id,
        )
    return run_id


def _check_kernel(name: str) -> None:
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    try:
        KernelSpecManager().get_kernel_spec(name)
    except NoSuchKernel:
        raise ProjectSpecError(
            f"there is no Jupyter kernel named {name!r}; `jupyter kernelspec list` shows "
            "them: pass one with --kernel",
            name=name,
        ) from None


def _execute(
    nb: Any, path: str, kernel: str, env: dict[str, str], stop: threading.Event | None
) -> tuple[str, str | None]:
    """Run the notebook in place in a fresh kernel: (status, failing cell's traceback)."""
    from nbclient.exceptions import CellExecutionError

    killed = RunStatus.KILLED, "interrupted: the kernel was shut down\n"
    try:
        execute(nb, os.path.dirname(path), kernel, env, stop=stop)
    except (KeyboardInterrupt, asyncio.CancelledError):
        return killed
    except Exception as error:  # a cell raised, or the kernel died or did not start
        if stop is not None and stop.is_set():
            return killed  # nbclient reports its cancelled kernel as dead
        if isinstance(error, CellExecutionError):
            return RunStatus.FAILED, _ANSI.sub("", str(error))
        return RunStatus.FAILED, "".join(traceback.format_exception_only(type(error), error))
    return RunStatus.FINISHED, None


def execute(
    nb: Any,
    cwd: str,
    kernel_name: str,
    env: dict[str, str],
    allow_errors: bool = False,
    stop: threading.Event | None = None,
) -> None:
    """Execute a notebook in place in a fresh kernel (nbclient), started with ``env``.

    Runs in a thread, on an event loop of its own closed afterwards: the caller may be a
    kernel (whose loop is running) or a sweep's worker thread, and nbclient's own signal
    handlers (main thread only) stay out of the way. Setting ``stop``, or Ctrl-C in the
    calling thread, cancels the execution, which shuts the kernel down at once.
    """
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        kernel_name=kernel_name,
        timeout=None,
        allow_errors=allow_errors,
        resources={"metadata": {"path": cwd}},
    )
    stop = stop or threading.Event()

    async def main() -> None:
        task = asyncio.ensure_future(client.async_execute(env=env))
        while not task.done():
            await asyncio.wait({task}, timeout=STOP_POLL_S)
            if stop.is_set() and not task.done() and client.shutdown_kernel != "immediate":
                client.shutdown_kernel = "immediate"  # a busy kernel would not answer
                task.cancel()  # once: a second cancel would cut the kernel's shutdown short
        task.result()

    _run_in_thread(main, stop)


def _run_in_thread(main: Callable[[], Coroutine[Any, Any, None]], stop: threading.Event) -> None:
    errors: list[BaseException] = []
    done = threading.Event()  # waited on, not join(): an interrupted join may not wait again

    def target() -> None:
        try:
            asyncio.run(main())
        except BaseException as error:  # handed to the caller's thread
            errors.append(error)
        finally:
            done.set()

    threading.Thread(target=target, name="nbtrack-notebook").start()
    try:
        done.wait()
    except KeyboardInterrupt:
        stop.set()
        done.wait()
        raise
    if errors:
        raise errors[0]
