"""Fixtures for the real-browser tests: one JupyterLab and one Chromium per pytest session.

Use ``open_notebook`` in a test::

    def test_panel(open_notebook, artifacts_dir):
        nb = open_notebook(Path("notebooks/01-quickstart.ipynb"))  # or an nbformat notebook
        nb.run_all()
        nb.wait_for(".my-panel")
        nb.screenshot_outputs(artifacts_dir, "quickstart")
        nb.assert_no_errors()

Every test in this folder gets the ``browser`` marker, so ``pytest -m "not browser"`` skips
them all. Before running them, ``bash scripts/setup-browser.sh`` installs Chromium.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest

from .jupyterlab import JupyterLab, NotebookPage, launch_chromium

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]):
    # Keep each phase's report on the item, so fixtures can tell that the test failed.
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """``tests/artifacts/browser/`` (ignored by git): screenshots and the server log."""
    path = ARTIFACTS / "browser"
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="session")
def jupyterlab(
    tmp_path_factory: pytest.TempPathFactory, artifacts_dir: Path
) -> Iterator[JupyterLab]:
    """A JupyterLab server for the whole session, stopped (kernels included) at the end."""
    lab = JupyterLab(tmp_path_factory.mktemp("jupyterlab"), artifacts_dir / "jupyter-server.log")
    lab.log_path.unlink(missing_ok=True)
    lab.start()
    yield lab
    lab.stop()


@pytest.fixture(scope="session")
def browser(tmp_path_factory: pytest.TempPathFactory):
    """One headless Chromium (a Playwright persistent context) for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = launch_chromium(playwright, tmp_path_factory.mktemp("chromium-profile"))
        yield context
        context.close()


@pytest.fixture
def open_notebook(
    jupyterlab: JupyterLab, browser, request: pytest.FixtureRequest, artifacts_dir: Path
) -> Iterator[Callable[..., NotebookPage]]:
    """Open notebooks in new tabs; each is closed (kernel shut down) after the test.

    Call it with an ``.ipynb`` path or an ``nbformat`` notebook (and an optional file name).
    When the test fails, a full-page screenshot of each tab is saved under
    ``tests/artifacts/browser/failures/``.
    """
    pages: list[NotebookPage] = []

    def open_(source: Path | nbformat.NotebookNode, name: str | None = None) -> NotebookPage:
        page = jupyterlab.open_notebook(browser, source, name)
        pages.append(page)
        return page

    yield open_
    report = getattr(request.node, "report_call", None)
    for number, page in enumerate(pages):
        if report is not None and report.failed:
            shot = artifacts_dir / "failures" / f"{request.node.name}-{number}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.page.screenshot(path=str(shot), full_page=True)
        page.close()
