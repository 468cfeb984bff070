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

import nbtrack.pyfunc

ROOT = Path(__file__).resolve().parents[1]
MLFLOW_PYTHON = os.environ.get(
    "NBTRACK_MLFLOW_PYTHON", str(ROOT / ".bench" / "mlflow-venv" / "bin" / "python")
)

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
