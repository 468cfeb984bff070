"""Malformed MLmodel files and the files they name: clear errors, nothing outside the folder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from sklearn.linear_model import LinearRegression

import nbtrack
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import ModelFileError
from nbtrack.models import Model


@pytest.fixture
def model_dir(tmp_path):
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0]})
    nbtrack.sklearn.save_model(
        LinearRegression().fit(x, [0.0, 1.0, 2.0]), tmp_path / "m", input_example=x.head(2)
    )
    return tmp_path / "m"


def _edit(folder, change) -> None:
    content = yaml.safe_load((folder / "MLmodel").read_text())
    change(content)
    (folder / "MLmodel").write_text(yaml.safe_dump(content))


def _set_pickled_model(value):
    def change(content):
        content["flavors"]["sklearn"]["pickled_model"] = value
        content["flavors"]["python_function"]["model_path"] = value

    return change


@pytest.mark.parametrize(
    "name",
    [
        "../outside.skops",  # climbs out of the folder
        "{outside}",  # absolute
        "sub/../../outside.skops",
        "",  # no file at all
        5,  # not a name
    ],
)
def test_pickled_model_must_stay_in_the_model_folder(model_dir, name):
    outside = model_dir.parent / "outside.skops"
    outside.write_bytes((model_dir / "model.skops").read_bytes())  # a loadable file
    value = name.format(outside=outside) if isinstance(name, str) else name
    _edit(model_dir, _set_pickled_model(value))
    for load in (nbtrack.pyfunc.load_model, nbtrack.sklearn.load_model):
        with pytest.raises(ModelFileError, match=r"model folder|file name"):
            load(str(model_dir))


def test_a_symlink_in_the_model_folder_cannot_lead_out(model_dir):
    outside = model_dir.parent / "outside.skops"
    outside.write_bytes((model_dir / "model.skops").read_bytes())
    (model_dir / "model.skops").unlink()
    (model_dir / "model.skops").symlink_to(outside)
    with pytest.raises(ModelFileError, match="leaves the model folder"):
        nbtrack.pyfunc.load_model(str(model_dir))


def test_the_input_example_must_stay_in_the_model_folder(model_dir):
    (model_dir.parent / "secret.json").write_text('{"columns": ["a"], "data": [[1]]}')

    def change(content):
        content["saved_input_example_info"]["artifact_path"] = "../secret.json"

    _edit(model_dir, change)
    with pytest.raises(ModelFileError, match="leaves the model folder"):
        Model.load(model_dir).load_input_example(model_dir)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("flavors: [unclosed\n", "not valid YAML"),  # a YAML error
        ("- a list\n", "no YAML mapping"),
        ("flavors: 5\n", "flavors must map"),
        ("flavors:\n  sklearn: 5\n", "flavors must map"),
        ("self: 1\nflavors: {}\n", "key nbtrack cannot read: 'self'"),  # a top-level self:
        ("1: x\n", "key nbtrack cannot read: 1"),
        ("signature:\n  inputs: '[{\"type\": '\n", "signature does not parse"),  # bad JSON
        ('signature:\n  inputs: \'[{"name": "a"}]\'\n', "signature does not parse"),
        ("signature: 5\n", "signature must be a mapping"),
        ("saved_input_example_info: 5\n", "must be a mapping"),
    ],
)
def test_malformed_mlmodel_files_are_clear_errors(tmp_path, text, message):
    (tmp_path / "MLmodel").write_text(text)
    with pytest.raises(ModelFileError, match=message):
        Model.load(tmp_path)
    with pytest.raises(ModelFileError, match=message):
        nbtrack.pyfunc.load_model(str(tmp_path))


def test_a_well_formed_model_still_loads(model_dir):
    loaded = nbtrack.pyfunc.load_model(str(model_dir))
    assert np.allclose(loaded.predict(pd.DataFrame({"a": [3.0]})), [3.0])
    example = Model.load(model_dir).load_input_example(model_dir)
    assert list(example["a"]) == [0.0, 1.0]
