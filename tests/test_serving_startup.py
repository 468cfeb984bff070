"""A server process imports skops without scikit-learn's census, and loads exactly what it did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from serving_helpers import REPO

from nbtrack.models.trust import is_trusted
from nbtrack.serving.startup import estimator_type_names

pytest.importorskip("skops")

# skops's default allow-list, as a JSON object of its lists of type names.
_DUMP_LISTS = """
import json
from skops.io import _trusted_types as lists
print(json.dumps({k: list(v) for k, v in vars(lists).items() if k.endswith("_TYPE_NAMES")}))
"""
# What a server process does: skops imported after the CLI and uvicorn, without the census.
_AS_A_SERVER = """
import sklearn.utils
census = sklearn.utils.all_estimators
import nbtrack.cli, uvicorn
from nbtrack.serving.startup import import_skops
import_skops()
assert sklearn.utils.all_estimators is census
"""


def _python(code: str) -> str:
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_every_estimator_skops_trusts_by_default_nbtrack_trusts_too():
    names = estimator_type_names()
    assert len(names) > 100
    assert "sklearn.linear_model._logistic.LogisticRegression" in names
    assert [name for name in names if not is_trusted(name)] == []


@pytest.mark.slow
def test_a_server_process_gets_skops_lists_unchanged_but_the_census():
    usual = json.loads(_python("import sklearn\n" + _DUMP_LISTS))
    served = json.loads(_python(_AS_A_SERVER + _DUMP_LISTS))
    assert served.pop("SKLEARN_ESTIMATOR_TYPE_NAMES") == []
    assert len(usual.pop("SKLEARN_ESTIMATOR_TYPE_NAMES")) > 100
    assert served == usual


@pytest.mark.slow
def test_a_server_process_loads_and_refuses_what_the_full_list_would(tmp_path):
    """A future estimator outside nbtrack's list (here: LogisticRegression, by pretending)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    import nbtrack.sklearn

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    nbtrack.sklearn.save_model(model, tmp_path / "plain")
    risky = make_pipeline(FunctionTransformer(np.linalg.norm), LogisticRegression())
    nbtrack.sklearn.save_model(risky, tmp_path / "risky", skops_trusted_types=["numpy.linalg.norm"])
    out = _python(
        f"""
        from nbtrack.errors import UnsafeModelError
        from nbtrack.models import sklearn as flavor
        from nbtrack.serving.startup import import_skops, load_model

        import_skops()
        trusted = flavor.is_trusted
        outside = "sklearn.linear_model._logistic.LogisticRegression"
        flavor.is_trusted = lambda name: name != outside and trusted(name)
        print(load_model({str(tmp_path / "plain")!r}).predict([[3.0]]).tolist())
        try:
            load_model({str(tmp_path / "risky")!r})
        except UnsafeModelError as error:
            print(error.types)
        """
    )
    assert out.splitlines() == ["[1]", "['numpy.linalg.norm']"]


def test_the_start_runs_without_the_collector_and_freezes_what_it_built():
    out = _python(
        """
        import gc
        from nbtrack.serving.startup import collector_paused

        with collector_paused():
            paused = not gc.isenabled()
            built = [[] for _ in range(1000)]
        print(paused, gc.isenabled(), gc.get_freeze_count() >= 1000)
        """
    )
    assert out.split() == ["True", "True", "True"]
