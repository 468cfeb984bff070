"""``nbtrack models serve`` and ``nbtrack models predict``, with ``mlflow models``' flags.

Both only translate: the server and the batch scoring live in ``nbtrack.serving``.
"""

from __future__ import annotations

from pathlib import Path

import click

from nbtrack.cli.options import pass_client
from nbtrack.client import MlflowClient

_MODEL_URI_HELP = (
    "The model: runs:/<run_id>/<path>, models:/<name>/<version>, models:/<name>@<alias> "
    "(followed when the alias moves), models:/<name>/<stage> or a model folder."
)


class _SizeType(click.ParamType):
    """A byte count: 10485760, 10MB, 512KB."""

    name = "SIZE"

    def convert(
        self, value: object, param: click.Parameter | None, ctx: click.Context | None
    ) -> int:
        from nbtrack.errors import InvalidParameter
        from nbtrack.serving.config import parse_size

        if isinstance(value, int):
            return value
        try:
            return parse_size(str(value))
        except InvalidParameter as error:
            self.fail(str(error), param, ctx)


# -h is --host here, as in `mlflow models serve`; help stays on --help.
@click.command("serve", context_settings={"help_option_names": ["--help"]})
@click.option("--model-uri", "-m", metavar="URI", required=True, help=_MODEL_URI_HELP)
@click.option(
    "--port",
    "-p",
    type=click.IntRange(0, 65535),
    default=5000,
    show_default=True,
    help="The port to listen on (0: any free port).",
)
@click.option(
    "--host",
    "-h",
    metavar="HOST",
    default="127.0.0.1",
    show_default=True,
    help="The network interface to bind; 0.0.0.0 answers other machines too.",
)
@click.option(
    "--workers",
    "-w",
    type=click.IntRange(1),
    default=1,
    show_default=True,
    help="Number of uvicorn worker processes.",
)
@click.option(
    "--timeout",
    "-t",
    type=click.FloatRange(0, min_open=True),
    default=60,
    show_default=True,
    help="Seconds a request may take before it gets a 504.",
)
@click.option(
    "--max-body-size",
    type=_SizeType(),
    default="10MB",
    show_default=True,
    help="Largest request body (bytes, or 512KB, 10MB...); larger ones get a 413.",
)
@click.option(
    "--access-log",
    is_flag=True,
    help="Log every request (uvicorn's access log); off by default, it costs throughput.",
)
@pass_client
def serve(
    client: MlflowClient,
    model_uri: str,
    port: int,
    host: str,
    workers: int,
    timeout: float,
    max_body_size: int,
    access_log: bool,
) -> None:
    r"""Serve a model over HTTP with MLflow's scoring protocol (POST /invocations).

    \b
    Example:
      nbtrack models serve -m models:/wine@champion -p 5000 &
      curl http://127.0.0.1:5000/invocations -H 'Content-Type: application/json' \
        -d '{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2]]}}'
    """
    from nbtrack.serving.server import ServerConfig, run

    run(
        ServerConfig(
            model_uri=model_uri,
            host=host,
            port=port,
            workers=workers,
            timeout=timeout,
            max_body_size=max_body_size,
            tracking_uri=client.tracking_uri,
            access_log=access_log,
        ),
        announce=click.echo,
    )


@click.command("predict")
@click.option("--model-uri", "-m", metavar="URI", required=True, help=_MODEL_URI_HELP)
@click.option(
    "--input-path",
    "-i",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The data: MLflow's request JSON (dataframe_split, ...), CSV or Parquet.",
)
@click.option(
    "--output-path",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write the predictions: *.csv or *.parquet get a table, anything "
    "else MLflow's JSON. Default: print the JSON.",
)
@click.option(
    "--content-type",
    "-t",
    type=click.Choice(["json", "csv", "parquet"]),
    help="The input's format, when its suffix does not say it.",
)
@pass_client
def predict(
    client: MlflowClient,
    model_uri: str,
    input_path: Path,
    output_path: Path | None,
    content_type: str | None,
) -> None:
    """Predict on a file of data with a model (no server), as mlflow models predict."""
    from nbtrack.serving.batch import predict_file
    from nbtrack.tracking import set_tracking_uri

    set_tracking_uri(client.tracking_uri)
    predictions = predict_file(model_uri, input_path, output_path, content_type)  # type: ignore[arg-type]
    if output_path is not None:
        click.echo(f"Wrote {len(predictions)} predictions to {output_path}", err=True)
