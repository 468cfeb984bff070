"""What a ``%%track`` cell depends on in the kernel's history, and hidden state in it.

At ``%%track`` time nbtrack records, from IPython's history (``In``, one entry per
execution count), the names the cell reads that were defined outside it and which
execution defined each one, and stores the executed cells up to and including this one
(``cell_history.json``) so that ``nbtrack reproduce`` can replay them in a fresh kernel.

It warns (``nbtrack: hidden state …``) when a name the cell reads comes from

- a cell **executed out of order**: the defining cell read a name that a later execution
  redefined with other code, so its result is stale (checked along the chain of
  definitions; re-running a cell unchanged is not counted), or
- a cell **edited since it ran**: the same notebook cell (the front end's cell id, which
  JupyterLab and Notebook 7 send) was re-run with other code that no longer defines the
  name, so the value comes from code that is no longer in the notebook.

The analysis is static (``ast``): names bound by assignments, imports, ``def``, ``class``,
``for``, ``with … as``; names read before being bound. Code run by ``exec``, ``%run`` or
``globals()[...]`` is not seen. Cells run before ``%load_ext nbtrack`` have no cell id.
"""

from __future__ import annotations

import ast
import builtins
import os
import sys
from dataclasses import dataclass, field
from typing import Any

HISTORY_FILE = "cell_history.json"
IGNORED = frozenset({"In", "Out", "get_ipython", "exit", "quit", "display"})

_cell_ids: dict[int, str] = {}  # execution count → the front end's cell id


def remember_cell(info: Any) -> None:
    """IPython ``pre_run_cell`` hook: note which notebook cell the next execution is."""
    shell = _shell()
    cell_id = getattr(info, "cell_id", None)
    if shell is None or not cell_id or getattr(info, "store_history", True) is False:
        return
    _cell_ids[len(shell.user_ns.get("In", ()))] = str(cell_id)


def _shell() -> Any:
    ipython = sys.modules.get("IPython")
    return ipython.get_ipython() if ipython is not None else None  # type: ignore[attr-defined]


# -- names bound and read by a piece of code --------------------------------------------------


class _Names(ast.NodeVisitor):
    """Names a cell binds at its top level, and names it reads before binding them."""

    def __init__(self) -> None:
        self.bound: set[str] = set()
        self.reads: dict[str, None] = {}  # ordered set

    def _read(self, name: str) -> None:
        if name not in self.bound:
            self.reads.setdefault(name, None)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self._read(node.id)
        else:
            self.bound.add(node.id)

    def visit_Assign(self, node: ast.Assign) -> None:  # the value is evaluated first
        self.visit(node.value)
        for target in node.targets:
            self.visit(target)

    def visit_AnnAssign(self, node: ast.AnnAssign) -> None:
        if node.value is not None:
            self.visit(node.value)
        self.visit(node.target)

    def visit_AugAssign(self, node: ast.AugAssign) -> None:
        if isinstance(node.target, ast.Name):
            self._read(node.target.id)
        self.visit(node.value)
        self.visit(node.target)

    def visit_For(self, node: ast.For) -> None:
        self.visit(node.iter)
        self.visit(node.target)
        for statement in (*node.body, *node.orelse):
            self.visit(statement)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.bound.add(alias.asname or alias.name.split(".")[0])

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        for alias in node.names:
            if alias.name != "*":
                self.bound.add(alias.asname or alias.name)

    def _scope(self, node: Any, name: str | None) -> None:
        """A function or lambda: its free names are reads when it runs; it binds its name."""
        if name is not None:
            self.bound.add(name)
        for default in (*node.args.defaults, *node.args.kw_defaults):
            if default is not None:
                self.visit(default)
        inner = _Names()
        args = node.args
        inner.bound.update(
            a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if a is not None
        )
        inner.bound.update(a.arg for a in (args.vararg, args.kwarg) if a is not None)
        body = node.body if isinstance(node.body, list) else [node.body]
        local = _locals(body)
        inner.bound.update(local)
        for statement in body:
            inner.visit(statement)
        for read in inner.reads:
            self._read(read)
        for decorator in getattr(node, "decorator_list", []):
            self.visit(decorator)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._scope(node, node.name)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._scope(node, node.name)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self._scope(node, None)

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        for expr in (*node.bases, *node.decorator_list):
            self.visit(expr)
        inner = _Names()
        for statement in node.body:
            inner.visit(statement)
        for read in inner.reads:
            self._read(read)
        self.bound.add(node.name)

    def _comprehension(self, node: Any) -> None:
        inner = _Names()
        for generator in node.generators:
            inner.visit(generator.iter)
            inner.visit(generator.target)
            for condition in generator.ifs:
                inner.visit(condition)
        for part in ("elt", "key", "value"):
            if hasattr(node, part):
                inner.visit(getattr(node, part))
        for read in inner.reads:
            self._read(read)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension


def _locals(body: list[ast.stmt]) -> set[str]:
    """Names assigned anywhere in a function body (Python makes them local)."""
    names = _Names()
    for statement in body:
        names.visit(statement)
    return names.bound


def names(source: str) -> tuple[set[str], list[str]]:
    """(names bound, names read before being bound) by a cell; a magic cell's Python body."""
    tree = _parse(source)
    if tree is None:
        return set(), []
    visitor = _Names()
    visitor.visit(tree)
    return visitor.bound, list(visitor.reads)


def _parse(source: str) -> ast.Module | None:
    if source.lstrip().startswith("%%"):
        first, _, body = source.lstrip().partition("\n")
        source = body if first.split()[0] in ("%%track", "%%time", "%%capture") else ""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        shell = _shell()
        if shell is None:
            return None
        try:  # IPython syntax (%magic, !shell): parse what IPython would run
            tree = ast.parse(shell.transform_cell(source))
        except SyntaxError:
            return None
    return _magic_body(tree) or tree


def _magic_body(tree: ast.Module) -> ast.Module | None:
    """The Python inside ``get_ipython().run_cell_magic('track', line, body)``, if that is all."""
    if len(tree.body) != 1 or not isinstance(tree.body[0], ast.Expr):
        return None
    call = tree.body[0].value
    if (
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr == "run_cell_magic"
        and len(call.args) == 3
        and isinstance(call.args[2], ast.Constant)
        and isinstance(call.args[2].value, str)
    ):
        try:
            return ast.parse(call.args[2].value)
        except SyntaxError:
            return None
    return None


# -- the history and what it says -------------------------------------------------------


@dataclass
class Analysis:
    """A tracked cell's outside reads (name → defining execution) and hidden-state notes."""

    cells: list[str]
    execution_counts: list[int]
    reads: dict[str, int | None] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """What ``cell_history.json`` holds."""
        return {
            "cells": self.cells,
            "execution_counts": self.execution_counts,
            "reads": self.reads,
            "hidden_state": self.problems,
            "cwd": os.getcwd(),
        }


def history(namespace: dict[str, Any], source: str) -> list[str] | None:
    """The executed cells, index = execution count, the last one being this cell.

    The raw inputs (with ``%%magic`` lines) when the shell keeps them, else ``In``;
    None outside IPython.
    """
    inputs = namespace.get("In")
    if not isinstance(inputs, list) or not inputs:
        return None
    shell = _shell()
    raw = getattr(getattr(shell, "history_manager", None), "input_hist_raw", None)
    cells = list(raw) if isinstance(raw, list) and len(raw) == len(inputs) else list(inputs)
    last = cells[-1] if len(cells) > 1 else ""
    if last.lstrip().startswith("%%track") and last.partition("\n")[2].strip() == source.strip():
        return cells
    if "run_cell_magic('track'" in last or 'run_cell_magic("track"' in last:
        return cells
    return [*cells, f"%%track\n{source}"]  # run through run_cell_magic: not in history


def analyse(namespace: dict[str, Any], source: str) -> Analysis | None:
    """Where the names this cell reads come from, and whether that is hidden state."""
    cells = history(namespace, source)
    if cells is None:
        return None
    current = len(cells) - 1
    parsed = [names(c) for c in cells[:current]] + [names(f"%%track\n{source}")]
    analysis = Analysis(cells[1:], list(range(1, current + 1)))
    builtin = set(dir(builtins))

    def definer(name: str, before: int) -> int | None:
        for k in range(before - 1, 0, -1):
            if name in parsed[k][0]:
                return k
        return None

    seen: set[tuple[str, int]] = set()

    def check(name: str, reader: int, chain: str) -> None:
        if (name, reader) in seen:
            return
        seen.add((name, reader))
        k = definer(name, reader)
        if k is None:
            return
        edited = _edited_after(k, current, cells)
        if edited is not None:
            analysis.problems.append(
                f"{chain}{name!r} comes from cell [{k}], edited and re-run as [{edited}] "
                f"without defining {name!r} (edited since it ran)"
            )
        for used in parsed[k][1]:
            latest = definer(used, current)
            if (
                latest is not None
                and latest > k
                and not _same_code(cells, definer(used, k), latest)
            ):
                analysis.problems.append(
                    f"{chain}{name!r} comes from cell [{k}], which read {used!r} before cell "
                    f"[{latest}] redefined it (executed out of order)"
                )
            else:
                check(used, k, f"{chain}{name!r} ← ")

    for name in parsed[current][1]:
        if name in IGNORED or name.startswith("_") or name not in namespace:
            continue
        if name in builtin and definer(name, current) is None:
            continue
        analysis.reads[name] = definer(name, current)
        check(name, current, "")
    return analysis


def _same_code(cells: list[str], first: int | None, second: int) -> bool:
    """Whether a redefinition re-ran the very code of the one read (likely the same value)."""
    return first is not None and cells[first].strip() == cells[second].strip()


def _edited_after(k: int, current: int, cells: list[str]) -> int | None:
    """A later execution of the same notebook cell as ``k`` with other code, if any."""
    cell_id = _cell_ids.get(k)
    if cell_id is None:
        return None
    for j in range(k + 1, current):
        if _cell_ids.get(j) == cell_id and cells[j].strip() != cells[k].strip():
            return j
    return None


def warning_text(analysis: Analysis) -> str:
    """The hidden-state warning for a tracked cell."""
    return (
        "nbtrack: hidden state: "
        + "; ".join(analysis.problems)
        + ". This run may not reproduce: re-run the notebook from the top (or the cells "
        "named) before tracking"
    )
