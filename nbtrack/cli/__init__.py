"""The ``nbtrack`` command (also ``python -m nbtrack``): experiments, runs and gc.

The command only translates: it parses options, calls the library (``MlflowClient`` and
``nbtrack.gc``) and prints with ``nbtrack.cli.output``. Any ``NbtrackError`` a command
raises ends it with one line on stderr and exit code 1, never a traceback.

Each command group lives in its own module and joins ``main`` with one line below, e.g.
for a ``models`` group defined in ``nbtrack/cli/models.py``::

    main.add_command(models.models)   # with models added to: from nbtrack.cli import ...

(the modules are imported, not their commands, so ``nbtrack.cli.runs`` stays a module).

Inside a command, take the store's client with ``@pass_client`` (from
``nbtrack.cli.options``; it holds the ``--tracking-uri`` given to ``nbtrack``) and give
listing and show commands ``@json_option``. Keep module-level imports light (no pandas)
so that ``nbtrack --help`` stays fast.
"""

from __future__ import annotations

import click

from nbtrack import __version__
from nbtrack.cli import experiments, gc, models, reproduce, run, runs
from nbtrack.cli import sync as sync_cli
from nbtrack.client import MlflowClient
from nbtrack.errors import NbtrackError
from nbtrack.uri import ENV_TRACKING_URI


class _NbtrackGroup(click.Group):
    """The root group: an ``NbtrackError`` from any subcommand becomes a one-line error."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except NbtrackError as error:
            raise click.ClickException(" ".join(str(error).split())) from error


@click.group(cls=_NbtrackGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--tracking-uri",
    envvar=ENV_TRACKING_URI,
    show_envvar=True,
    metavar="URI",
    help="The store: sqlite:///path.db or a plain path  [default: ./nbtrack.db]",
)
@click.version_option(__version__, prog_name="nbtrack")
@click.pass_context
def main(ctx: click.Context, tracking_uri: str | None) -> None:
    """Track machine-learning runs in a local SQLite store, with MLflow's semantics."""
    if tracking_uri is not None and not tracking_uri.strip():
        raise click.BadParameter("must not be empty", param_hint="--tracking-uri")
    ctx.obj = MlflowClient(tracking_uri)


main.add_command(experiments.experiments)
main.add_command(runs.runs)
main.add_command(gc.gc)
main.add_command(models.models)
main.add_command(run.run)
main.add_command(reproduce.reproduce)
main.add_command(sync_cli.sync)
main.add_command(sync_cli.import_)
