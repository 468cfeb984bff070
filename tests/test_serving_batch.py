"""``nbtrack models predict``: score a JSON, CSV or Parquet file without a server."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from click.testing import CliRunner

import nbtrack
import nbtrack.sklearn
from nbtrack.cli import main


@pytest.fixture
def model(fresh_store):
    """A decision tree on the wine data, registered as 'wine' version 1."""
    from sklearn.datasets import load_wine
    from sklearn.tree import DecisionTreeClassifier

    x, y = load_wine(return_X_y=True, as_frame=True)
    tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(x, y)
    with nbtrack.start_run():
        nbtrack.sklearn.log_model(
            tree, name="model", input_example=x.head(2), registered_model_name="wine"
        )
    sample = x.iloc[[0, 70, 170]]
    return sample, tree.predict(sample).tolist()


def predict(*args: str):
    return CliRunner().invoke(main, ["models", "predict", "-m", "models:/wine/1", *args])


def test_csv_in_json_out(model, tmp_path):
    sample, expected = model
    sample.to_csv(tmp_path / "in.csv", index=False)
    result = predict("-i", str(tmp_path / "in.csv"), "-o", str(tmp_path / "out.json"))
    assert result.exit_code == 0, result.output
    assert json.loads((tmp_path / "out.json").read_text()) == {"predictions": expected}


def test_json_request_in_csv_table_out(model, tmp_path):
    sample, expected = model
    request = {"dataframe_split": sample.to_dict(orient="split")}
    (tmp_path / "in.json").write_text(json.dumps(request))
    result = predict("-i", str(tmp_path / "in.json"), "-o", str(tmp_path / "out.csv"))
    assert result.exit_code == 0, result.output
    assert pd.read_csv(tmp_path / "out.csv")["prediction"].tolist() == expected


def test_stdout_when_no_output_and_content_type_flag(model, tmp_path):
    sample, expected = model
    sample.to_csv(tmp_path / "rows.txt", index=False)
    result = predict("-i", str(tmp_path / "rows.txt"), "-t", "csv")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"predictions": expected}


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rows.txt", "a,b\n", "cannot tell the format"),  # no suffix to go by
        ("bad.json", "[1, 2]", "Received a list"),  # MLflow's request forms only
        ("data.parquet", "not parquet", "Parquet"),  # unreadable, or pyarrow missing
    ],
)
def test_bad_inputs_fail_with_one_line(model, tmp_path, name, content, message):
    (tmp_path / name).write_text(content)
    result = predict("-i", str(tmp_path / name))
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and message in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_missing_input_file_is_named(model, tmp_path):
    result = predict("-i", str(tmp_path / "nowhere.csv"))
    assert result.exit_code == 1 and "nowhere.csv does not exist" in result.output
