"""Custom Python models: models from code by default, pickles only when asked for."""

from __future__ import annotations

import pickle
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

import nbtrack
import nbtrack.pyfunc
from nbtrack.errors import InvalidParameter, SignatureError, UnsafeModelError
from nbtrack.models import Model, set_model

MODEL_CODE = """
import nbtrack
from nbtrack.pyfunc import PythonModel


class Scaler(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["factor"]) as f:
            self.factor = float(f.read())
        self.offset = context.model_config.get("offset", 0)

    def predict(self, context, model_input, params=None):
        power = (params or {}).get("power", 1)
        return model_input[["x"]] ** power * self.factor + self.offset


nbtrack.models.set_model(Scaler())
"""


@pytest.fixture
def code_file(tmp_path):
    path = tmp_path / "scaler_model.py"
    path.write_text(textwrap.dedent(MODEL_CODE))
    (tmp_path / "factor.txt").write_text("3")
    return path


@pytest.fixture
def frame():
    return pd.DataFrame({"x": [1.0, 2.0]})


def test_model_from_code_saves_mlflows_layout_and_predicts(tmp_path, code_file, frame):
    nbtrack.pyfunc.save_model(
        tmp_path / "m",
        python_model=str(code_file),
        artifacts={"factor": str(tmp_path / "factor.txt")},
        model_config={"offset": 1},
        input_example=(frame, {"power": 1}),
    )
    folder = tmp_path / "m"
    conf = Model.load(folder).flavors["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert conf["model_code_path"] == "scaler_model.py"
    assert conf["artifacts"] == {
        "factor": {"path": "artifacts/factor.txt", "uri": str(tmp_path / "factor.txt")}
    }
    assert conf["config"] == {"offset": 1}
    assert "python_model" not in conf
    assert (folder / "scaler_model.py").is_file()
    assert not (folder / "python_model.pkl").exists()
    signature = Model.load(folder).signature
    assert signature.inputs.input_names() == ["x"]
    assert signature.params is not None
    model = nbtrack.pyfunc.load_model(str(folder))
    assert model.predict(frame)["x"].tolist() == [4.0, 7.0]
    assert model.predict(frame, params={"power": 2})["x"].tolist() == [4.0, 13.0]
    override = nbtrack.pyfunc.load_model(str(folder), model_config={"offset": 0})
    assert override.predict(frame)["x"].tolist() == [3.0, 6.0]
    assert override.model_config == {"offset": 1}
    with pytest.raises(SignatureError):
        model.predict(pd.DataFrame({"y": [1.0]}))


def test_loading_a_model_from_code_unpickles_nothing(tmp_path, code_file, frame, monkeypatch):
    nbtrack.pyfunc.save_model(
        tmp_path / "m",
        python_model=code_file,
        artifacts={"factor": str(tmp_path / "factor.txt")},
    )

    def refuse(*args, **kwargs):
        raise AssertionError("loading unpickled something")

    import cloudpickle

    for target in (pickle, cloudpickle):
        monkeypatch.setattr(target, "load", refuse)
        monkeypatch.setattr(target, "loads", refuse)
    model = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    assert model.predict(frame)["x"].tolist() == [3.0, 6.0]


class Doubler(nbtrack.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input * 2


def test_a_model_object_needs_the_pickle_opt_in_at_save_and_at_load(tmp_path, frame):
    with pytest.raises(InvalidParameter, match="allow_pickle=True"):
        nbtrack.pyfunc.save_model(tmp_path / "m", python_model=Doubler())
    assert not (tmp_path / "m").exists()
    nbtrack.pyfunc.save_model(tmp_path / "m", python_model=Doubler(), allow_pickle=True)
    conf = Model.load(tmp_path / "m").flavors["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.model"
    assert conf["python_model"] == "python_model.pkl"
    with pytest.raises(UnsafeModelError, match="allow_pickle=True"):
        nbtrack.pyfunc.load_model(str(tmp_path / "m"))
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"), allow_pickle=True)
    assert loaded.predict(frame)["x"].tolist() == [2.0, 4.0]
    assert isinstance(loaded.get_raw_model(), Doubler)


def test_a_function_set_in_code_and_predict_without_context(tmp_path, frame):
    code = tmp_path / "fn_model.py"
    code.write_text(
        "from nbtrack.models import set_model\n"
        "from nbtrack.pyfunc import PythonModel\n"
        "class NoContext(PythonModel):\n"
        "    def predict(self, model_input, params=None):\n"
        "        return model_input + 1\n"
        "set_model(NoContext())\n"
    )
    nbtrack.pyfunc.save_model(tmp_path / "a", python_model=code)
    assert nbtrack.pyfunc.load_model(str(tmp_path / "a")).predict(frame)["x"].tolist() == [2, 3]
    fn = tmp_path / "plain_fn.py"
    fn.write_text("from nbtrack.models import set_model\nset_model(lambda df: df * 10)\n")
    nbtrack.pyfunc.save_model(tmp_path / "b", python_model=fn)
    assert nbtrack.pyfunc.load_model(str(tmp_path / "b")).predict(frame)["x"].tolist() == [10, 20]


def test_code_paths_are_importable_from_the_model_code(tmp_path, frame):
    helpers = tmp_path / "lib" / "nbt_pm_helpers.py"
    helpers.parent.mkdir()
    helpers.write_text("def shift(df):\n    return df - 1\n")
    code = tmp_path / "uses_helpers.py"
    code.write_text(
        "from nbt_pm_helpers import shift\nfrom nbtrack.models import set_model\nset_model(shift)\n"
    )
    import sys

    sys.path.insert(0, str(helpers.parent))  # as when the user wrote it
    try:
        info = nbtrack.pyfunc.log_model(
            name="shifter", python_model=str(code), code_paths=[str(helpers)]
        )
    finally:
        sys.path.remove(str(helpers.parent))
        sys.modules.pop("nbt_pm_helpers", None)
    model = nbtrack.pyfunc.load_model(info.model_uri)
    assert model.predict(frame)["x"].tolist() == [0.0, 1.0]
    assert info.flavors["python_function"]["code"] == "code"


def test_log_model_with_artifacts_from_a_run_uri_and_registration(tmp_path, code_file, frame):
    with nbtrack.start_run() as run:
        nbtrack.log_text("5", "weights/factor.txt")
        info = nbtrack.pyfunc.log_model(
            name="scaler",
            python_model=str(code_file),
            artifacts={"factor": f"runs:/{run.info.run_id}/weights/factor.txt"},
            registered_model_name="scaler",
            pip_requirements=["pandas"],
        )
    assert info.registered_model_version == 1
    model = nbtrack.pyfunc.load_model("models:/scaler/1")
    assert model.predict(frame)["x"].tolist() == [5.0, 10.0]
    folder = nbtrack.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "d"))
    with open(f"{folder}/conda.yaml") as f:
        pip = yaml.safe_load(f)["dependencies"][-1]["pip"]
    assert pip[1:] == ["pandas"]


@pytest.mark.parametrize(
    ("python_model", "message"),
    [
        (None, "needs python_model"),
        ("missing.py", "not a Python file"),
        ("notes.txt", "not a Python file"),
    ],
)
def test_bad_python_model_arguments(tmp_path, python_model, message):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InvalidParameter, match=message):
        nbtrack.pyfunc.save_model(tmp_path / "m", python_model=python_model)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("x = 1\n", "set no model"),
        ("raise RuntimeError('boom')\n", "RuntimeError: boom"),
    ],
)
def test_broken_model_code_fails_at_save(tmp_path, source, message):
    code = tmp_path / "broken.py"
    code.write_text(source)
    with pytest.raises(InvalidParameter, match=message):
        nbtrack.pyfunc.save_model(tmp_path / "m", python_model=code)
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("value", ["model.py", 42])
def test_set_model_takes_a_model_object(value):
    with pytest.raises(InvalidParameter, match="set_model takes the model object"):
        set_model(value)


def test_numpy_input_without_signature(tmp_path):
    code = tmp_path / "np_model.py"
    code.write_text("from nbtrack.models import set_model\nset_model(lambda a: a.sum(axis=1))\n")
    nbtrack.pyfunc.save_model(tmp_path / "m", python_model=code)
    out = nbtrack.pyfunc.load_model(str(tmp_path / "m")).predict(np.ones((2, 3)))
    assert out.tolist() == [3.0, 3.0]
