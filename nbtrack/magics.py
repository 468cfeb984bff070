"""The IPython extension: ``%%track`` and ``%nbtrack`` (``%load_ext nbtrack``).

The magics only translate: they parse their arguments (a usage message on bad ones, never
a traceback), run the cell's code the way IPython would, and hand everything else to
:mod:`nbtrack.capture`. An ``NbtrackError`` raised before the cell runs (an unknown
experiment, a run already active…) is shown as one line.
"""

from __future__ import annotations

import argparse
import ast
import shlex
import sys
from typing import Any, NoReturn

from IPython.core.error import UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class

from nbtrack import capture, cell_history, tag_keys, tracking
from nbtrack.autolog import autolog
from nbtrack.errors import InvalidState, NbtrackError


class _Parser(argparse.ArgumentParser):
    """argparse that reports bad arguments as IPython's UsageError (no traceback, no exit)."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message}\n{self.format_usage().strip()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError((message or "").strip() or self.format_usage().strip())


def _track_parser() -> _Parser:
    parser = _Parser(
        prog="%%track",
        description="Run the cell inside an nbtrack run and record it.",
        add_help=True,
    )
    parser.add_argument("--experiment", help="experiment to log to (created if missing)")
    parser.add_argument("--name", help="run name")
    parser.add_argument("--nested", action="store_true", help="child run of the active run")
    parser.add_argument(
        "--tag", action="append", default=[], metavar="KEY=VALUE", help="a tag (repeatable)"
    )
    parser.add_argument("--params", default="", help="names to log as params, a,b")
    parser.add_argument("--metrics", default="", help="names to log as metrics, x,y")
    parser.add_argument(
        "--no-autolog", action="store_true", help="do not autolog scikit-learn fits"
    )
    return parser


def _nbtrack_parser() -> _Parser:
    parser = _Parser(prog="%nbtrack", description="Look at and steer nbtrack from a notebook.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    runs = commands.add_parser("runs", help="the active experiment's runs")
    runs.add_argument("filter", nargs="*", help="an MLflow filter, e.g. metrics.rmse < 1")
    run = commands.add_parser("run", help="one run's summary")
    run.add_argument("run_id")
    experiment = commands.add_parser("experiment", help="set the active experiment")
    experiment.add_argument("name", nargs="+")
    commands.add_parser("registry", help="the model registry browser")
    autolog = commands.add_parser("autolog", help="turn autologging on or off")
    autolog.add_argument("state", choices=["on", "off"])
    return parser


def _split(line: str) -> list[str]:
    try:
        return shlex.split(line)
    except ValueError as exc:  # an unclosed quote
        raise UsageError(f"cannot read the arguments: {exc}") from None


def _names(text: str) -> list[str]:
    return [name.strip() for name in text.split(",") if name.strip()]


def _tags(pairs: list[str]) -> dict[str, str]:
    tags = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UsageError(f"--tag takes KEY=VALUE (found {pair!r})")
        tags[key] = value
    return tags


@magics_class
class NbtrackMagics(Magics):
    """``%%track`` runs a cell as a run; ``%nbtrack`` lists, shows and configures."""

    @property
    def _shell(self) -> Any:
        """The shell these magics belong to (always set once registered)."""
        return self.shell

    @cell_magic
    def track(self, line: str, cell: str) -> None:
        """Run the cell inside an nbtrack run; ``%%track --help`` lists the options."""
        __tracebackhide__ = True
        args = _track_parser().parse_args(_split(line))
        options = capture.CellOptions(
            experiment=args.experiment,
            run_name=args.name,
            nested=args.nested,
            tags=_tags(args.tag),
            params=_names(args.params),
            metrics=_names(args.metrics),
            autolog=not args.no_autolog,
        )
        count = self._execution_count()
        execute, filename = self._compile(cell, count)
        started = []

        def run() -> None:
            __tracebackhide__ = True
            started.append(True)
            execute()

        try:
            capture.track_cell(
                cell,
                run,
                self._shell.user_ns,
                options,
                execution_count=count,
                live=getattr(self._shell, "kernel", None) is not None,
                cell_filename=filename,
            )
        except NbtrackError as exc:
            if started:
                raise
            hint = " (with %%track: --nested)" if isinstance(exc, InvalidState) else ""
            print(f"nbtrack: {exc}{hint}", file=sys.stderr)

    def _execution_count(self) -> int:
        """The number of the cell running now (IPython 9 counts the next one during it)."""
        result = getattr(self._shell.displayhook, "exec_result", None)
        count = getattr(result, "execution_count", None)
        return count if count is not None else self._shell.execution_count

    def _compile(self, cell: str, count: int) -> tuple[Any, str]:
        """The cell as IPython would run it, and the file name its code is compiled under.

        Input and AST transformers apply, and the value of a last expression is shown as
        ``Out[n]`` (unless the cell ends with ``;``).
        """
        shell = self._shell
        source = shell.transform_cell(cell)
        filename = shell.compile.cache(source, count, raw_code=cell)
        tree = shell.transform_ast(shell.compile.ast_parse(source, filename=filename))
        body, last = tree.body, None
        if body and isinstance(body[-1], ast.Expr) and not source.rstrip().endswith(";"):
            body, last = body[:-1], body[-1]
        code = shell.compile(ast.Module(body=body, type_ignores=[]), filename, "exec")
        shown = shell.compile(ast.Interactive(body=[last]), filename, "single") if last else None

        def execute() -> None:
            __tracebackhide__ = True
            exec(code, shell.user_global_ns, shell.user_ns)
            if shown is not None:
                exec(shown, shell.user_global_ns, shell.user_ns)

        return execute, filename

    @line_magic
    def nbtrack(self, line: str) -> Any:
        """``%nbtrack runs [filter]``, ``run RUN_ID``, ``experiment NAME``, ``autolog on|off``."""
        args = _nbtrack_parser().parse_args(_split(line))
        if args.command == "runs":  # a filter is MLflow's grammar, not shell words: keep quotes
            args.filter = line.strip().split(None, 1)[1:]
        try:
            return self._command(args)
        except NbtrackError as exc:
            print(f"nbtrack: {exc}", file=sys.stderr)
            return None

    def _command(self, args: argparse.Namespace) -> Any:
        if args.command == "runs":
            return _runs_view(" ".join(args.filter))
        if args.command == "registry":
            from nbtrack.panels import show_registry  # ipywidgets and plotly: only when shown

            return show_registry()
        if args.command == "run":
            return capture.run_view(args.run_id)
        if args.command == "experiment":
            experiment = tracking.set_experiment(" ".join(args.name))
            print(f"nbtrack: experiment {experiment.name!r} (id {experiment.experiment_id})")
            return None
        autolog(disable=args.state == "off")
        print(f"nbtrack: autolog {args.state}")
        return None


def _runs_view(filter_string: str = "", max_results: int = 50) -> Any:
    """The active experiment's runs: the live run table panel (``nbtrack.show_runs``).

    Without the ``notebook`` extra (ipywidgets), a DataFrame: newest first, MLflow's columns.
    """
    try:
        from nbtrack.panels import show_runs  # ipywidgets and plotly: only when shown
    except ImportError:
        pass
    else:
        return show_runs(filter=filter_string, page_size=max_results)
    frame: Any = tracking.search_runs(filter_string=filter_string, max_results=max_results)
    columns = [
        c
        for c in frame.columns
        if c in ("run_id", "status", "start_time", "end_time", f"tags.{tag_keys.RUN_NAME}")
        or c.startswith(("params.", "metrics."))
    ]
    return frame[columns]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics with an IPython shell."""
    ipython.register_magics(NbtrackMagics)
    if cell_history.remember_cell not in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.register("pre_run_cell", cell_history.remember_cell)


def unload_ipython_extension(ipython: Any) -> None:
    """Remove the magics from an IPython shell."""
    magics = ipython.magics_manager.magics
    magics["cell"].pop("track", None)
    magics["line"].pop("nbtrack", None)
    if cell_history.remember_cell in ipython.events.callbacks["pre_run_cell"]:
        ipython.events.unregister("pre_run_cell", cell_history.remember_cell)
