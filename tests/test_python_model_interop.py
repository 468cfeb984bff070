"""Custom Python models against real MLflow 3.17 (its venv, through NBTRACK_MLFLOW_PYTHON)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
import warnings
from pathlib import Path

import pandas as pd
import pytest
from mlflow_servers import MLFLOW_PYTHON

import nbtrack.pyfunc

ROOT = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.slow,  # MLflow takes seconds to import
    pytest.mark.skipif(
        not Path(MLFLOW_PYTHON).exists(),
        reason="needs MLflow's venv: make bench, or set NBTRACK_MLFLOW_PYTHON",
    ),
]

NBTRACK_CODE = """
from nbtrack.models import set_model
from nbtrack.pyfunc import PythonModel


class Scaler(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["factor"]) as f:
            self.factor = float(f.read())

    def predict(self, context, model_input, params=None):
        return model_input[["x"]] * self.factor + context.model_config.get("offset", 0)


set_model(Scaler())
"""

MLFLOW_CODE = """
import mlflow
from mlflow.pyfunc import PythonModel


class Tripler(PythonModel):
    def load_context(self, context):
        with open(context.artifacts["factor"]) as f:
            self.factor = float(f.read())

    def predict(self, context, model_input, params=None):
        return model_input[["x"]] * self.factor


mlflow.models.set_model(Tripler())
"""


def run_mlflow(script: str) -> object:
    """Run a script in MLflow's venv (nbtrack importable) and return the JSON it prints last."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MLFLOW_TRACKING_URI": "sqlite:///mlflow.db"}
    done = subprocess.run(
        [MLFLOW_PYTHON, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_mlflow_loads_an_nbtrack_model_from_code(tmp_path):
    (tmp_path / "scaler.py").write_text(NBTRACK_CODE)
    (tmp_path / "factor.txt").write_text("3")
    frame = pd.DataFrame({"x": [1.0, 2.0]})
    nbtrack.pyfunc.save_model(
        tmp_path / "m",
        python_model=tmp_path / "scaler.py",
        artifacts={"factor": str(tmp_path / "factor.txt")},
        model_config={"offset": 1},
        input_example=frame,
    )
    got = run_mlflow(
        f"""
        import json, warnings
        warnings.simplefilter("ignore")
        import pandas as pd, mlflow.pyfunc
        model = mlflow.pyfunc.load_model({str(tmp_path / "m")!r})
        out = model.predict(pd.DataFrame({{"x": [1.0, 2.0]}}))
        print(json.dumps(out["x"].tolist()))
        """
    )
    assert got == [4.0, 7.0]
    assert nbtrack.pyfunc.load_model(str(tmp_path / "m")).predict(frame)["x"].tolist() == got


def test_nbtrack_loads_an_mlflow_model_from_code(tmp_path):
    (tmp_path / "tripler.py").write_text(MLFLOW_CODE)
    (tmp_path / "factor.txt").write_text("3")
    got = run_mlflow(
        f"""
        import json, warnings
        warnings.simplefilter("ignore")
        import mlflow.pyfunc
        mlflow.pyfunc.save_model(
            {str(tmp_path / "m")!r},
            python_model={str(tmp_path / "tripler.py")!r},
            artifacts={{"factor": {str(tmp_path / "factor.txt")!r}}},
            pip_requirements=["pandas"],
        )
        print(json.dumps("saved"))
        """
    )
    assert got == "saved"
    pytest.importorskip("mlflow", reason="the code file imports mlflow (mlflow-skinny)")
    with warnings.catch_warnings():  # MLflow's PythonModel warns that predict has no type hints
        warnings.simplefilter("ignore")
        model = nbtrack.pyfunc.load_model(str(tmp_path / "m"))
        predicted = model.predict(pd.DataFrame({"x": [1.0, 2.0]}))
    assert predicted["x"].tolist() == [3.0, 6.0]


def test_mlflow_loads_an_nbtrack_folder_with_code_extra_files_and_conda_env(tmp_path):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import nbtrack.sklearn

    x, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(x, y)
    helper = tmp_path / "nbt_interop_helper.py"
    helper.write_text("NAME = 'helper'\n")
    notes = tmp_path / "notes.txt"
    notes.write_text("notes")
    env = {"name": "iris", "dependencies": ["python=3.11", {"pip": ["scikit-learn"]}]}
    nbtrack.sklearn.save_model(
        model,
        tmp_path / "m",
        code_paths=[str(helper)],
        extra_files=[str(notes)],
        conda_env=env,
    )
    got = run_mlflow(
        f"""
        import json, sys, warnings
        warnings.simplefilter("ignore")
        import pandas as pd, mlflow.pyfunc, mlflow.models
        from sklearn.datasets import load_iris
        x, _ = load_iris(return_X_y=True, as_frame=True)
        model = mlflow.pyfunc.load_model({str(tmp_path / "m")!r})
        import nbt_interop_helper  # MLflow put the model's code/ on sys.path
        conf = mlflow.models.Model.load({str(tmp_path / "m")!r}).flavors["sklearn"]
        print(json.dumps([model.predict(x[:5]).tolist(), nbt_interop_helper.NAME,
                          conf["extra_files"]]))
        """
    )
    assert got == [model.predict(x[:5]).tolist(), "helper", [{"path": "extra_files/notes.txt"}]]
