"""The serving parts in process: reading scoring requests, the options, the alias follower."""

from __future__ import annotations

import importlib.util
import io
import json

import numpy as np
import pandas as pd
import pytest

from nbtrack.errors import InvalidInput, InvalidParameter, MissingDependency
from nbtrack.serving import payloads
from nbtrack.serving.config import parse_size, require_extra
from nbtrack.types import ColSpec, Schema

SCHEMA = Schema([ColSpec("double", "a"), ColSpec("long", "b")])
UNIFORM = Schema([ColSpec("double", "a"), ColSpec("double", "b")])


def parse(body, content_type="application/json", schema=SCHEMA):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return payloads.parse_request(raw, content_type, schema)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (
            {"dataframe_split": {"columns": ["a", "b"], "data": [[1.5, 2], [3.0, 4]]}},
            "application/json",
        ),
        ({"dataframe_records": [{"a": 1.5, "b": 2}, {"a": 3.0, "b": 4}]}, "application/json"),
        (
            {"columns": ["a", "b"], "data": [[1.5, 2], [3.0, 4]]},
            "application/json; format=pandas-split",
        ),  # MLflow 1's form
        ([{"a": 1.5, "b": 2}, {"a": 3.0, "b": 4}], "application/json; format=pandas-records"),
        (b"a,b\n1.5,2\n3.0,4\n", "text/csv"),
        (b"a,b\n1.5,2\n3.0,4\n", "text/csv; charset=UTF-8"),
    ],
)
def test_frames_are_cast_to_the_signature(body, content_type):
    data, params = parse(body, content_type)
    assert params is None
    expected = pd.DataFrame({"a": [1.5, 3.0], "b": np.array([2, 4], dtype="int64")})
    pd.testing.assert_frame_equal(data, expected)


def test_a_float_in_a_long_column_is_truncated_as_mlflow_does():
    data, _ = parse({"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2.7]]}})
    assert data["a"].dtype == np.float64 and data["b"].tolist() == [2]


@pytest.mark.parametrize(
    "data",
    [
        [[1, 2], [3, 4]],  # ints into doubles: one numpy conversion
        [[1.5, None]],  # None becomes NaN, as astype(float) makes it
    ],
)
def test_the_fast_path_builds_the_frame_the_general_path_would(data):
    body = {"dataframe_split": {"columns": ["a", "b"], "data": data}}
    fast, _ = parse(body, schema=UNIFORM)
    general = payloads.cast_to_schema(pd.DataFrame(data, columns=["a", "b"]), UNIFORM)
    pd.testing.assert_frame_equal(fast, general)


def test_instances_and_inputs_become_typed_columns():
    data, _ = parse({"instances": [{"a": 1, "b": 2}, {"a": 3, "b": 4}]})
    assert data["a"].dtype == np.float64 and data["b"].dtype == np.int64
    data, params = parse({"inputs": {"a": [1, 3], "b": [2, 4]}, "params": {"k": 1}})
    assert data["a"].tolist() == [1.0, 3.0] and params == {"k": 1}
    data, _ = parse({"inputs": [[1, 2]]}, schema=None)
    assert data.tolist() == [[1, 2]]


def test_instances_of_uneven_lengths_are_refused():
    with pytest.raises(InvalidInput, match="are not the same"):
        parse({"instances": {"a": [1, 2], "b": [3]}})


def test_errors_carry_their_http_status():
    with pytest.raises(InvalidInput) as raised:
        parse(b"{}", "application/xml")
    assert raised.value.status == 415 and raised.value.error_code == "BAD_REQUEST"
    with pytest.raises(InvalidInput) as raised:
        parse(b"{")
    assert raised.value.status == 400


def test_a_long_malformed_body_is_quoted_only_in_part():
    with pytest.raises(InvalidInput) as raised:
        parse(b"{" + b"x" * 5000)
    assert len(raised.value.message) < 1500 and raised.value.message.rstrip().endswith("…")


def test_predictions_json_is_mlflow_form():
    frame = pd.DataFrame({"p": [0.5, 1.0]})
    assert json.loads(payloads.predictions_json(frame)) == {"predictions": [{"p": 0.5}, {"p": 1.0}]}
    assert json.loads(payloads.predictions_json(np.array([1, 2]))) == {"predictions": [1, 2]}
    series = pd.Series(np.array(["2024-01-01"], dtype="datetime64[ns]"), name="t")
    assert json.loads(payloads.predictions_json(series)) == {
        "predictions": [{"t": "2024-01-01T00:00:00"}]
    }


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("10MB", 10 * 1024 * 1024),  # the default
        ("512KB", 512 * 1024),
        ("1GiB", 1024**3),
        ("65536", 65536),  # plain bytes
        ("1.5k", 1536),
    ],
)
def test_body_sizes_parse(text, size):
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "ten", "-1MB", "0", "5TB"])
def test_bad_body_sizes_are_refused(text):
    with pytest.raises(InvalidParameter, match="max body size"):
        parse_size(text)


def test_a_missing_extra_names_the_install_command(monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "uvicorn", None)
    with pytest.raises(MissingDependency, match=r"pip install 'nbtrack\[serve\]'"):
        require_extra()


def test_serving_stays_out_of_import_nbtrack_and_the_cli():
    import subprocess
    import sys

    code = (
        "import sys, nbtrack, nbtrack.models, nbtrack.cli; "
        "print(sorted(m for m in ('starlette', 'uvicorn', 'nbtrack.serving.app') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


HAS_PYARROW = importlib.util.find_spec("pyarrow") is not None


@pytest.mark.skipif(HAS_PYARROW, reason="pyarrow is installed")
def test_parquet_without_pyarrow_is_an_unsupported_type():
    with pytest.raises(InvalidInput, match="cannot read Parquet") as raised:
        parse(b"PAR1", "application/vnd.apache.parquet")
    assert raised.value.status == 415


@pytest.mark.skipif(not HAS_PYARROW, reason="reading Parquet needs pyarrow")
def test_parquet_becomes_a_frame():
    buffer = io.BytesIO()
    pd.DataFrame({"a": [1.5], "b": [2]}).to_parquet(buffer)
    data, _ = parse(buffer.getvalue(), "application/vnd.apache.parquet")
    assert data.to_dict(orient="records") == [{"a": 1.5, "b": 2}]


def test_the_alias_follower_swaps_once_and_reports_each_problem_once(fresh_store, caplog):
    """AliasFollower.check in process, against a real registry (the HTTP tests run it live)."""
    from sklearn.dummy import DummyClassifier

    import nbtrack
    import nbtrack.sklearn
    from nbtrack.artifacts import uri_to_path
    from nbtrack.serving import follow

    frame = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    for constant in (0, 1, 2):
        model = DummyClassifier(strategy="constant", constant=constant).fit(frame, [0, 1, 2])
        with nbtrack.start_run():
            nbtrack.sklearn.log_model(model, name="m", registered_model_name="m")
    client = nbtrack.MlflowClient()
    client.set_registered_model_alias("m", "champion", "1")
    slot = follow.ModelSlot(follow.load_served("models:/m@champion", client))
    follower = follow.AliasFollower(slot, client)
    (uri_to_path(client.get_model_version_download_uri("m", "3")) / "MLmodel").unlink()
    with caplog.at_level("INFO", logger="nbtrack.serving"):
        assert not follower.check()  # unchanged
        client.set_registered_model_alias("m", "champion", "2")
        assert follower.check()
        assert (slot.current.version, slot.current.uri) == ("2", "models:/m@champion")
        assert slot.current.model.predict(frame).tolist() == [1, 1, 1]
        client.set_registered_model_alias("m", "champion", "3")
        assert not follower.check() and not follower.check()  # refused, reported once
        client.delete_registered_model_alias("m", "champion")
        assert not follower.check() and not follower.check()  # alias gone, reported once
    assert slot.current.version == "2"
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 3, messages
    assert "now serving version 2 (was 1)" in messages[0]
    assert "cannot be loaded" in messages[1] and "cannot read alias" in messages[2]
