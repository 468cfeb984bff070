"""Drive notebooks in a real JupyterLab, in headless Debian Chromium, from pytest.

The pieces, used through the fixtures of ``tests/browser/conftest.py``:

- :class:`JupyterLab` starts ``jupyter lab`` (from the interpreter running pytest, i.e. the
  project's .venv) on loopback with a free port, a random token and its own temporary
  settings, workspaces, config, data, runtime and IPython folders, so nothing on the machine
  leaks in and nothing leaks out. The labextensions of ipywidgets, plotly and anywidget are
  still found: they live in ``sys.prefix/share/jupyter``, which Jupyter searches whatever
  ``JUPYTER_DATA_DIR`` says.
- :func:`launch_chromium` opens one persistent Chromium context (``/usr/bin/chromium``,
  installed by ``scripts/setup-browser.sh``; Playwright's own download is never used).
- :meth:`JupyterLab.open_notebook` copies a notebook into a fresh folder of the server's
  root (so its kernel's working directory, and the default store ``./nbtrack.db`` of
  ``NBTRACK_TRACKING_URI=sqlite:///nbtrack.db``, belong to that notebook alone), opens it in
  a new tab and waits for an idle kernel. The returned :class:`NotebookPage` runs cells,
  reads outputs, takes screenshots and collects every error a person would see.

Every wait is on a condition in the page (an element, a kernel status, a promise), never a
fixed sleep, and every failed wait raises :class:`BrowserTestError` with the browser's
console errors attached.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Locator, Page, Playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",  # we run as root in CI
    "--disable-gpu",  # WebGL (plotly parcoords) falls back to software rendering
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium keeps calling home, and the closed network refuses every call.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # Containers often have a tiny /dev/shm; Chromium crashes when it fills up.
    "--disable-dev-shm-usage",
]
VIEWPORT = {"width": 1400, "height": 1000}

# Text that an output shows when a widget failed to render (ipywidgets' messages, then its
# error view for a model class that failed to load, then plotly's notice when WebGL, which
# parcoords draws with, is missing), or had not rendered by the time outputs settled.
WIDGET_ERROR_TEXTS = (
    "Error displaying widget",
    "model not found",
    "Failed to load model class",
    "Loading widget...",
    "Click to show javascript error",
    "WebGL is not supported",
)

# Settings that keep JupyterLab out of the way of screenshots and DOM checks.
LAB_SETTINGS = {
    # The "Jupyter news" toast covers outputs; news_url=None alone does not hide it.
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    # Keep every cell in the DOM, so a cell far down the notebook can be found and shot.
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}

PYTHON_KERNELSPEC = {
    "name": "python3",
    "display_name": "Python 3 (ipykernel)",
    "language": "python",
}


class BrowserTestError(AssertionError):
    """A browser-side condition did not hold; the message carries what the page logged."""


# --------------------------------------------------------------------------- the server


class JupyterLab:
    """A ``jupyter lab`` server of its own, on loopback, for one pytest session.

    Parameters
    ----------
    base_dir
        An empty temporary folder: the server's root and private Jupyter folders go here.
    log_path
        Where the server's (and its kernels') stdout and stderr are written.
    """

    def __init__(self, base_dir: Path, log_path: Path) -> None:
        self.base_dir = base_dir
        self.root_dir = base_dir / "root"
        self.log_path = log_path
        self.token = secrets.token_hex(24)
        self.port = 0
        self._process: subprocess.Popen[bytes] | None = None
        self._counter = itertools.count(1)

    @property
    def url(self) -> str:
        """The server's base URL (no token)."""
        return f"http://127.0.0.1:{self.port}"

    # -- life cycle

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and return once ``/api/status`` answers."""
        self.root_dir.mkdir(parents=True, exist_ok=True)
        env = self._environment()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(3):  # the free port may be taken between probe and bind
            self.port = _free_port()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    self._command(),
                    cwd=self.root_dir,
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # Ctrl+C on pytest must not reach it first
                )
            if self._wait_ready(self._process, timeout):
                return
        raise BrowserTestError(
            f"JupyterLab did not start in {timeout:.0f} s (3 attempts); last lines of "
            f"{self.log_path}:\n{self.log_tail()}"
        )

    def stop(self) -> None:
        """Shut every kernel down, then the server (SIGTERM, then SIGKILL after 20 s)."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            for session in self._sessions():
                self._delete_session(session["id"])
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)
        # A kernel left by a killed server exits by itself: ipykernel watches its parent.
        self._process = None

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the server log."""
        if not self.log_path.exists():
            return "(no log)"
        text = self.log_path.read_text(errors="replace").splitlines()
        return "\n".join(text[-lines:])

    # -- notebooks

    def add_notebook(self, source: Path | nbformat.NotebookNode, name: str | None = None) -> Path:
        """Copy a notebook into a new folder of the root; return its path relative to the root.

        Parameters
        ----------
        source
            An ``.ipynb`` file, or a notebook built with ``nbformat.v4``.
        name
            The file name in the server; defaults to the source's name (``notebook.ipynb``
            for an in-memory notebook).
        """
        if isinstance(source, nbformat.NotebookNode):
            nb = source
            name = name or "notebook.ipynb"
        else:
            nb = nbformat.read(source, as_version=4)
            name = name or Path(source).name
        # Without a kernelspec JupyterLab asks which kernel to start, in a dialog.
        nb.metadata.setdefault("kernelspec", dict(PYTHON_KERNELSPEC))
        folder = Path(f"{next(self._counter):02d}-{Path(name).stem}")
        (self.root_dir / folder).mkdir(parents=True)
        nbformat.write(nb, self.root_dir / folder / name)
        return folder / name

    def open_notebook(
        self,
        browser: BrowserContext,
        source: Path | nbformat.NotebookNode,
        name: str | None = None,
        timeout: float = 60.0,
    ) -> NotebookPage:
        """Copy ``source`` into the server (see :meth:`add_notebook`), open it in a new tab.

        Returns once the notebook is shown and its kernel is connected and idle.
        """
        relpath = self.add_notebook(source, name)
        page = browser.new_page()
        notebook = NotebookPage(self, page, relpath)
        notebook.load(timeout)
        return notebook

    def shutdown_kernels(self, relpath: Path) -> None:
        """Shut down the kernel of every session on the notebook at ``relpath``."""
        for session in self._sessions():
            if session.get("path") == relpath.as_posix():
                self._delete_session(session["id"])

    # -- internals

    def _command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--ip=127.0.0.1",
            f"--port={self.port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--ServerApp.root_dir={self.root_dir}",
            "--ServerApp.terminals_enabled=False",
            "--LabApp.expose_app_in_browser=True",  # window.jupyterapp, for commands
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            "--allow-root",  # CI runs as root; JupyterLab refuses that without this flag
        ]

    def _environment(self) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("NBTRACK_", "MLFLOW_", "JUPYTER", "JPY_", "IPYTHON"))
        }
        private = {
            "JUPYTERLAB_SETTINGS_DIR": "lab-settings",
            "JUPYTERLAB_WORKSPACES_DIR": "lab-workspaces",
            "JUPYTER_CONFIG_DIR": "config",
            "JUPYTER_DATA_DIR": "data",
            "JUPYTER_RUNTIME_DIR": "runtime",
            "IPYTHONDIR": "ipython",
        }
        for var, sub in private.items():
            folder = self.base_dir / sub
            folder.mkdir(parents=True, exist_ok=True)
            env[var] = str(folder)
        settings = self.base_dir / private["JUPYTERLAB_SETTINGS_DIR"]
        for relpath, value in LAB_SETTINGS.items():
            (settings / relpath).parent.mkdir(parents=True, exist_ok=True)
            (settings / relpath).write_text(json.dumps(value))
        env.update(
            {
                # Relative: each kernel's store is ./nbtrack.db in its notebook's own folder.
                "NBTRACK_TRACKING_URI": "sqlite:///nbtrack.db",
                "JUPYTER_PLATFORM_DIRS": "1",  # silences jupyter_core's migration warning
                "PYDEVD_DISABLE_FILE_VALIDATION": "1",  # silences the debugger's warning
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def _wait_ready(self, process: subprocess.Popen[bytes], timeout: float) -> bool:
        """Poll ``/api/status`` until it answers; False if the server exited first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            with contextlib.suppress(OSError):
                self._api("GET", "/api/status")
                return True
            time.sleep(0.2)
        self.stop()
        raise BrowserTestError(
            f"JupyterLab did not answer /api/status within {timeout:.0f} s; last lines of "
            f"{self.log_path}:\n{self.log_tail()}"
        )

    def _api(self, method: str, path: str) -> Any:
        request = urllib.request.Request(
            f"{self.url}{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
        return json.loads(body) if body else None

    def _sessions(self) -> list[dict[str, Any]]:
        try:
            return self._api("GET", "/api/sessions")
        except (OSError, urllib.error.HTTPError):
            return []

    def _delete_session(self, session_id: str) -> None:
        with contextlib.suppress(OSError, urllib.error.HTTPError):
            self._api("DELETE", f"/api/sessions/{session_id}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- the browser


def launch_chromium(playwright: Playwright, profile_dir: Path) -> BrowserContext:
    """Open Debian's Chromium headless, with a fresh profile in ``profile_dir``."""
    if not CHROMIUM.exists():
        raise BrowserTestError(
            f"{CHROMIUM} is missing; install it with: bash scripts/setup-browser.sh"
        )
    # launch() refuses --user-data-dir in args; a persistent context takes it as a parameter.
    return playwright.chromium.launch_persistent_context(
        str(profile_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport=VIEWPORT,
    )


# --------------------------------------------------------------------------- one notebook


@dataclass
class NotebookPage:
    """One notebook open in its own Chromium tab of a :class:`JupyterLab`.

    Cells are addressed by their index in the notebook (0 = first cell, markdown included).
    """

    lab: JupyterLab
    page: Page
    relpath: Path
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    _panel_id: str = ""

    @property
    def folder(self) -> Path:
        """The notebook's folder on disk: its kernel's cwd, holding its ``nbtrack.db``."""
        return self.lab.root_dir / self.relpath.parent

    @property
    def store_path(self) -> Path:
        """The store file the notebook's kernel uses by default."""
        return self.folder / "nbtrack.db"

    # -- opening

    def load(self, timeout: float = 60.0) -> None:
        """Open the notebook's URL and wait until its kernel is connected and idle."""
        self.page.on("console", self._on_console)
        self.page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        # A workspace per tab: JupyterLab would otherwise reopen the previous test's notebooks.
        workspace = f"w{secrets.token_hex(4)}"
        url = (
            f"{self.lab.url}/lab/workspaces/{workspace}/tree/{self.relpath.as_posix()}"
            f"?token={self.lab.token}"
        )
        self.page.goto(url, wait_until="domcontentloaded", timeout=timeout * 1000)
        self._wait_js(
            "p => { const w = window.jupyterapp?.shell?.currentWidget;"
            " return !!w && w.context?.path === p && w.isVisible; }",
            self.relpath.as_posix(),
            timeout,
            "the notebook tab to open",
        )
        self._panel_id = self.page.evaluate(
            """async () => {
                const app = window.jupyterapp;
                const panel = app.shell.currentWidget;
                window.__nbPanel = panel;  // the harness's handle, whatever gets focus later
                app.shell.collapseLeft();  // give outputs the whole width
                await panel.context.ready;
                await panel.sessionContext.ready;
                // Record the errors the kernel reports outside any cell (widget callbacks,
                // trait observers): JupyterLab shows them only in its log console.
                window.__kernelErrors = [];
                panel.sessionContext.iopubMessage.connect((_, msg) => {
                    if (msg.parent_header?.msg_type === 'execute_request') return;
                    const c = msg.content;
                    if (msg.header.msg_type === 'error') {
                        window.__kernelErrors.push(`Python exception ${c.ename}: ${c.evalue}`);
                    } else if (msg.header.msg_type === 'stream' && c.name === 'stderr'
                               && c.text.includes('Traceback (most recent call last)')) {
                        const lines = c.text.trim().split('\\n');
                        window.__kernelErrors.push(`traceback ${lines[lines.length - 1]}`);
                    }
                });
                return panel.id;
            }"""
        )
        self.wait_idle(timeout)

    # -- running

    def run_all(self, timeout: float = 240.0) -> bool:
        """Run every cell (the "Run All Cells" command) and wait until all have finished.

        Returns False when a cell raised: the kernel then skips the cells after it, as it
        does for a person.
        """
        return self._run_command("notebook:run-all-cells", None, timeout)

    def run_cell(self, index: int, timeout: float = 60.0) -> bool:
        """Run the cell at ``index``, wait until it has finished; False if it raised."""
        return self._run_command("notebook:run-cell", index, timeout)

    def append_and_run(self, code: str, timeout: float = 60.0) -> str:
        """Add a code cell with ``code`` at the end, run it, return its text output (stripped).

        The way to read kernel state after acting in the browser:
        ``nb.append_and_run("print(counter)")``.
        """
        index = self.page.evaluate(
            """code => {
                const nb = window.__nbPanel.content;
                nb.model.sharedModel.insertCell(nb.model.cells.length, {
                    cell_type: 'code', source: code });
                return nb.model.cells.length - 1;
            }""",
            code,
        )
        self.run_cell(index, timeout)
        return self.output_text(index)

    def wait_idle(self, timeout: float = 60.0) -> None:
        """Wait until the kernel is idle and no cell is queued or running."""
        self._wait_js(
            """() => {
                const panel = window.__nbPanel;
                const kernel = panel.sessionContext.session?.kernel;
                if (!kernel || kernel.connectionStatus !== 'connected') return false;
                if (kernel.status !== 'idle') return false;
                return panel.content.widgets.every(
                    c => c.model.type !== 'code' || c.model.executionState !== 'running');
            }""",
            None,
            timeout,
            "the kernel to be idle with no cell running",
        )

    # -- reading

    def cell(self, index: int) -> Locator:
        """The cell at ``index``."""
        return self.page.locator(f"#{self._panel_id} .jp-Notebook .jp-Cell").nth(index)

    def output(self, index: int) -> Locator:
        """The output area of the cell at ``index``."""
        return self.cell(index).locator(".jp-OutputArea").first

    def output_text(self, index: int) -> str:
        """The visible text of the outputs of the cell at ``index``, stripped."""
        return self.page.evaluate(
            """i => {
                const cell = window.__nbPanel.content.widgets[i];
                const outputs = cell.model.outputs ?? { length: 0 };
                const texts = [];
                for (let k = 0; k < outputs.length; k++) {
                    const o = outputs.get(k);
                    if (o.type === 'stream') texts.push(String(o.toJSON().text ?? ''));
                    else if (o.data['text/plain'] !== undefined) {
                        texts.push(String(o.data['text/plain']));
                    }
                }
                return texts.join('');
            }""",
            index,
        ).strip()

    def cell_count(self) -> int:
        """How many cells the notebook has."""
        return self.page.evaluate("() => window.__nbPanel.content.widgets.length")

    def wait_for(self, selector: str, timeout: float = 30.0, state: str = "visible") -> Locator:
        """Wait for ``selector`` inside this notebook to reach ``state``; return its locator."""
        locator = self.page.locator(f"#{self._panel_id} {selector}").first
        try:
            locator.wait_for(state=state, timeout=timeout * 1000)  # type: ignore[arg-type]
        except Exception as error:  # a timeout, or the page crashed or closed
            reason = str(error).strip().splitlines()[0]
            raise self._failure(f"{selector!r} did not become {state}: {reason}") from error
        return locator

    def wait_widgets_rendered(self, timeout: float = 30.0) -> None:
        """Wait until no output still says "Loading widget..." (widget views all rendered)."""
        self._wait_js(
            """id => [...document.getElementById(id).querySelectorAll('.jp-OutputArea')]
                .every(area => !area.innerText.includes('Loading widget...'))""",
            self._panel_id,
            timeout,
            "every widget to render",
        )

    def screenshot_outputs(
        self, directory: Path, prefix: str, cells: Iterable[int] | None = None
    ) -> list[Path]:
        """Save a PNG of each non-empty output area, as ``<prefix>-cell<NN>.png``.

        Parameters
        ----------
        directory
            Where to write, e.g. the ``artifacts_dir`` fixture (``tests/artifacts/browser``).
        prefix
            The file names' start, e.g. the notebook's name.
        cells
            The indices of the cells to shoot; all cells by default (empty outputs skipped).

        Returns
        -------
        list of Path
            The files written, in cell order.
        """
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for index in sorted(cells) if cells is not None else range(self.cell_count()):
            area = self.cell(index).locator(".jp-OutputArea-child")
            if area.count() == 0:
                continue
            output = self.output(index)
            output.scroll_into_view_if_needed()
            path = directory / f"{prefix}-cell{index:02d}.png"
            with self._tall_enough(output):
                output.screenshot(path=str(path), animations="disabled")
            paths.append(path)
        return paths

    @contextlib.contextmanager
    def _tall_enough(self, output: Locator) -> Iterator[None]:
        """Grow the window while shooting an output taller than it.

        The notebook scrolls inside JupyterLab's panel, not the page, so the part of a tall
        output outside the window would come out as grey background.
        """
        viewport = self.page.viewport_size
        box = output.bounding_box()
        if viewport is None or box is None or box["height"] + 200 <= viewport["height"]:
            yield
            return
        self.page.set_viewport_size(
            {"width": viewport["width"], "height": int(box["height"]) + 400}
        )
        try:
            output.scroll_into_view_if_needed()
            yield
        finally:
            self.page.set_viewport_size(viewport)

    def errors(self, settle: float = 10.0) -> list[str]:
        """Every error a person would notice, one line each; empty when all is well.

        Uncaught page errors, console errors, widget error or loading messages in outputs,
        Python exceptions and tracebacks in cell outputs, the ones the kernel reports outside
        any cell (widget callbacks, trait observers), and open dialogs.

        Parameters
        ----------
        settle
            Seconds to give widgets still showing "Loading widget..." to render first; one
            still loading after that is reported.
        """
        with contextlib.suppress(BrowserTestError):
            self.wait_widgets_rendered(settle)
        found = [f"page error: {e}" for e in self.page_errors]
        found += [f"console error: {e}" for e in self.console_errors]
        state = self.page.evaluate(
            """id => {
                const panel = window.__nbPanel;
                const cells = [];
                panel.content.widgets.forEach((cell, i) => {
                    const outputs = cell.model.outputs;
                    const area = cell.node.querySelector('.jp-OutputArea');
                    const item = { index: i, text: area ? area.innerText : '', errors: [] };
                    for (let k = 0; outputs && k < outputs.length; k++) {
                        const o = outputs.get(k).toJSON();
                        if (o.output_type === 'error') item.errors.push(`${o.ename}: ${o.evalue}`);
                    }
                    cells.push(item);
                });
                const dialogs = [...document.querySelectorAll('.jp-Dialog')]
                    .map(d => d.innerText.replace(/\\s+/g, ' ').trim());
                return { cells, dialogs, kernel: window.__kernelErrors ?? [] };
            }""",
            self._panel_id,
        )
        for cell in state["cells"]:
            for error in cell["errors"]:
                found.append(f"cell {cell['index']}: Python exception {error}")
            for text in WIDGET_ERROR_TEXTS:
                if text in cell["text"]:
                    found.append(f"cell {cell['index']}: output says {text!r}")
            if "Traceback (most recent call last)" in cell["text"] and not cell["errors"]:
                found.append(f"cell {cell['index']}: output shows a Python traceback")
        found += [f"kernel, outside a cell: {e}" for e in state["kernel"]]
        found += [f"dialog open: {text}" for text in state["dialogs"]]
        return found

    def assert_no_errors(self) -> None:
        """Raise :class:`BrowserTestError` listing :meth:`errors`, if there are any."""
        errors = self.errors()
        if errors:
            raise BrowserTestError(
                f"{self.relpath}: {len(errors)} error(s):\n  " + "\n  ".join(errors)
            )

    # -- closing

    def close(self) -> None:
        """Shut the notebook's kernel down and close the tab (keeps memory bounded)."""
        self.lab.shutdown_kernels(self.relpath)
        with contextlib.suppress(Exception):  # the page may have crashed: nothing to close
            self.page.close()

    # -- internals

    def _on_console(self, message: Any) -> None:
        if message.type == "error":
            # The first line says what failed; the stack after it names minified bundles.
            text = message.text.strip().splitlines()[0] if message.text.strip() else "(empty)"
            url = (message.location or {}).get("url", "")
            self.console_errors.append(f"{text} (at {url})" if url else text)

    def start_run_all(self) -> None:
        """Start "Run All Cells" without waiting (see :meth:`finish_command`): several
        notebooks can then run at once, one kernel each."""
        self._start_command("notebook:run-all-cells", None)

    def finish_command(self, timeout: float = 300.0) -> bool:
        """Wait for the command started last to finish; False if a cell raised."""
        self._wait_js("() => window.__harnessRun.done", None, timeout, "the command to finish")
        result = self.page.evaluate("() => window.__harnessRun")
        if result["error"]:
            raise self._failure(f"the command failed in the page: {result['error']}")
        self.wait_idle(timeout)
        return bool(result["ok"])

    def _run_command(self, command: str, index: int | None, timeout: float) -> bool:
        """Execute a notebook command (on cell ``index`` if given), wait for it to finish.

        Returns the command's result: for the run commands, whether every cell succeeded.
        """
        self._start_command(command, index)
        return self.finish_command(timeout)

    def _start_command(self, command: str, index: int | None) -> None:
        self.page.evaluate(
            """([command, index]) => {
                const app = window.jupyterapp;
                const panel = window.__nbPanel;
                app.shell.activateById(panel.id);  // commands act on the current notebook
                if (index !== null) panel.content.activeCellIndex = index;
                window.__harnessRun = { done: false, ok: null, error: null };
                app.commands.execute(command).then(
                    ok => { window.__harnessRun = { done: true, ok, error: null }; },
                    e => { window.__harnessRun = { done: true, ok: false, error: String(e) }; });
            }""",
            [command, index],
        )

    def _wait_js(self, expression: str, arg: Any, timeout: float, what: str) -> None:
        try:
            self.page.wait_for_function(expression, arg=arg, timeout=timeout * 1000, polling=100)
        except Exception as error:  # a timeout, or the page crashed or closed
            reason = str(error).strip().splitlines()[0]
            raise self._failure(f"gave up waiting {timeout:.0f} s for {what}: {reason}") from error

    def _failure(self, message: str) -> BrowserTestError:
        details = self.page_errors + self.console_errors
        logged = "\n  ".join(details) if details else "(none)"
        kernel = "unknown (the page does not answer)"
        with contextlib.suppress(Exception):
            kernel = self.page.evaluate(
                "() => { const k = window.__nbPanel?.sessionContext?.session?.kernel;"
                " return k ? `${k.status}, ${k.connectionStatus}` : 'no kernel'; }"
            )
        return BrowserTestError(
            f"{self.relpath}: {message}\nkernel: {kernel}\nbrowser errors:\n  {logged}\n"
            f"server log (last lines):\n{self.lab.log_tail(15)}"
        )
