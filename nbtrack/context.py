"""Where a run comes from: user, script or notebook, git commit, Python version.

Everything here is cheap (no subprocess): git's HEAD is read from the files in ``.git``.
"""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path

from nbtrack import tag_keys

PYTHON = "{}.{}.{}".format(*sys.version_info[:3])


@lru_cache(maxsize=1)
def user() -> str:
    """The user name, as MLflow records it (fixed for the life of a process)."""
    import getpass  # here: it loads termios, which a process that never logs does not need

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def notebook_path() -> str | None:
    """The path of the running notebook, when the kernel can know it.

    Jupyter Server (2.x) tells kernels through ``JPY_SESSION_NAME``; VS Code sets
    ``__vsc_ipynb_file__`` in the user namespace.
    """
    path = os.environ.get("JPY_SESSION_NAME")
    if path:
        return path
    shell = _ipython()
    if shell is not None:
        vsc = shell.user_ns.get("__vsc_ipynb_file__")
        if isinstance(vsc, str):
            return vsc
    return None


def _ipython():  # type: ignore[no-untyped-def]
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]


def in_notebook() -> bool:
    """Whether code runs in an IPython shell (kernel or terminal)."""
    return _ipython() is not None


def source() -> tuple[str, str]:
    """(source name, source type): the notebook or script that runs, MLflow's types."""
    nb = notebook_path()
    if nb:
        return nb, "NOTEBOOK"
    if in_notebook():
        return "<ipython>", "NOTEBOOK"
    main = sys.argv[0] if sys.argv and sys.argv[0] else "<python>"
    if main not in ("-c", "-m") and not main.startswith("<"):
        main = os.path.abspath(main)
    return main, "LOCAL"


def run_tags() -> dict[str, str]:
    """The tags every new run gets: user, source, git commit and branch, Python version."""
    name, kind = source()
    tags = {
        tag_keys.USER: user(),
        tag_keys.SOURCE_NAME: name,
        tag_keys.SOURCE_TYPE: kind,
        tag_keys.PYTHON_VERSION: PYTHON,
    }
    if kind == "NOTEBOOK" and name != "<ipython>":
        tags[tag_keys.NOTEBOOK_PATH] = name
    start = os.path.dirname(name) if kind == "LOCAL" and os.path.isfile(name) else os.getcwd()
    commit, branch = git_head(start)
    if commit:
        tags[tag_keys.GIT_COMMIT] = commit
    if branch:
        tags[tag_keys.GIT_BRANCH] = branch
    return tags


@lru_cache(maxsize=32)
def _git_dir(start: str) -> Path | None:
    for folder in (Path(start), *Path(start).parents):
        candidate = folder / ".git"
        if candidate.is_dir():
            return candidate
        if candidate.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = candidate.read_text().strip()
            if text.startswith("gitdir:"):
                return (folder / text[len("gitdir:") :].strip()).resolve()
    return None


def git_head(start: str) -> tuple[str | None, str | None]:
    """(commit, branch) of the repository containing ``start``, read from ``.git``.

    Read anew for every run (a commit between two runs must show), with plain file
    reads: this is on the path of every ``start_run``.
    """
    git_dir = _git_dir(start)
    if git_dir is None:
        return None, None
    head = _read(os.path.join(git_dir, "HEAD"))
    if not head:
        return None, None
    if not head.startswith("ref:"):
        return head, None
    ref = head[len("ref:") :].strip()
    branch = ref.removeprefix("refs/heads/")
    common = _common_dir(str(git_dir))
    for base in (str(git_dir), common):
        sha = _read(os.path.join(base, ref))
        if sha:
            return sha, branch
    for line in (_read(os.path.join(common, "packed-refs")) or "").splitlines():
        sha, _, name = line.partition(" ")
        if name == ref:
            return sha, branch
    return None, branch  # a branch with no commit yet


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read().strip()
    except (OSError, UnicodeDecodeError):
        return None


@lru_cache(maxsize=32)
def _common_dir(git_dir: str) -> str:
    common = _read(os.path.join(git_dir, "commondir"))
    return os.path.realpath(os.path.join(git_dir, common)) if common else git_dir
