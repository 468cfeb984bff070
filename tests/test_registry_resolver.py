"""One version resolver for model URIs, model cards, the registry panel and the CLI."""

from __future__ import annotations

import pytest

import nbtrack
from nbtrack import MlflowClient
from nbtrack.errors import InvalidParameter, ModelNotFound
from nbtrack.registry import parse_model_uri, resolve_model_uri, resolve_version

QUOTED = "it's"  # a legal name that breaks a hand-written search filter


@pytest.fixture
def client() -> MlflowClient:
    """A client with model ``it's``: v1 Production @champion, v2 Staging, v3 no stage."""
    client = MlflowClient()
    client.create_registered_model(QUOTED)
    for _ in range(3):
        run_id = client.create_run("0").info.run_id
        client.log_text(run_id, "flavors: {}\n", "model/MLmodel")
        client.create_model_version(QUOTED, f"runs:/{run_id}/model", run_id=run_id)
    client.transition_model_version_stage(QUOTED, 1, "Production")
    client.transition_model_version_stage(QUOTED, 2, "Staging")
    client.set_registered_model_alias(QUOTED, "champion", 1)
    return client


@pytest.mark.parametrize(
    ("ref", "version"),
    [
        (2, "2"),  # a number
        ("2", "2"),  # a number as text (the CLI's)
        ("latest", "3"),  # the highest version, whatever its stage
        ("LATEST", "3"),
        ("@champion", "1"),  # an alias with its @
        ("champion", "1"),  # a bare alias (cards, the CLI)
        ("production", "1"),  # a stage, any case
        ("Staging", "2"),
        ("@latest", "3"),  # the reserved alias
    ],
)
def test_resolve_version(client, ref, version):
    assert resolve_version(client, QUOTED, ref).version == version


@pytest.mark.parametrize(
    ("uri", "version"),
    [
        (f"models:/{QUOTED}/1", "1"),
        (f"models:/{QUOTED}/latest", "3"),  # the form that once raised InvalidFilter
        (f"models:/{QUOTED}/Production", "1"),
        (f"models:/{QUOTED}/staging", "2"),
        (f"models:/{QUOTED}@champion", "1"),
        (f"models:///{QUOTED}/2/", "2"),  # extra slashes, as MLflow accepts
    ],
)
def test_resolve_model_uri(client, uri, version):
    assert resolve_model_uri(client, uri).version == version


@pytest.mark.parametrize(
    ("uri", "error"),
    [
        (f"models:/{QUOTED}/champion", InvalidParameter),  # aliases need @ in a URI
        ("models:/", InvalidParameter),  # no name
        (f"models:/{QUOTED}/9", ModelNotFound),
        (f"models:/{QUOTED}/Archived", ModelNotFound),  # an empty stage
        (f"models:/{QUOTED}@nobody", ModelNotFound),
        ("models:/other/latest", ModelNotFound),
    ],
)
def test_resolve_model_uri_errors(client, uri, error):
    with pytest.raises(error):
        resolve_model_uri(client, uri)


def test_parse_model_uri_keeps_the_alias_mark():
    assert parse_model_uri("models:/m@prod") == ("m", "@prod")
    assert parse_model_uri("models:/m/3") == ("m", "3")


def test_a_model_without_versions_has_no_latest():
    client = MlflowClient()
    client.create_registered_model("empty")
    with pytest.raises(ModelNotFound, match="no versions yet"):
        resolve_version(client, "empty", "latest")


def test_pyfunc_loads_the_latest_version_of_a_quoted_name():
    """Regression: ``models:/it's/latest`` raised InvalidFilter; ``/1`` and cards worked."""
    np = pytest.importorskip("numpy")
    linear = pytest.importorskip("sklearn.linear_model")
    X = np.array([[0.0], [1.0], [2.0], [3.0]])
    model = linear.LinearRegression().fit(X, 2 * X[:, 0])
    with nbtrack.start_run():
        nbtrack.sklearn.log_model(model, name="model", registered_model_name=QUOTED)
    loaded = nbtrack.pyfunc.load_model(f"models:/{QUOTED}/latest")
    assert loaded.predict(np.array([[4.0]]))[0] == pytest.approx(8.0)
    assert nbtrack.pyfunc.load_model(f"models:/{QUOTED}/1").metadata.run_id
    assert nbtrack.model_card(QUOTED).version == "1"
