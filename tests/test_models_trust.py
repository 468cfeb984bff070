"""The skops trust list: nothing that can touch files, the network or processes loads unasked."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import dump_svmlight_file
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

import nbtrack
import nbtrack.pyfunc
import nbtrack.sklearn
from nbtrack.errors import ModelFileError, UnsafeModelError
from nbtrack.models.sklearn import SKOPS_FILE_NAME
from nbtrack.models.trust import is_trusted

DUMP = "sklearn.datasets._svmlight_format_io.dump_svmlight_file"


def _exploit(target):
    """The pipeline of issue 12: predict() overwrites ``target``."""
    x = pd.DataFrame({"a": [0.0, 1.0, 2.0, 3.0], "b": [1.0, 0.0, 1.0, 0.0]})
    lr = LogisticRegression().fit(x.to_numpy(), [0, 1, 0, 1])
    step = FunctionTransformer(
        func=dump_svmlight_file, kw_args={"y": [7], "f": str(target), "comment": "x"}
    )
    return Pipeline([("w", step), ("lr", lr)]), x


def test_a_model_that_writes_files_is_refused_at_save(tmp_path):
    target = tmp_path / "bashrc"
    target.write_text("mine\n")
    pipe, _ = _exploit(target)
    with pytest.raises(UnsafeModelError, match=f"skops_trusted_types=\\['{DUMP}'\\]") as caught:
        nbtrack.sklearn.save_model(pipe, tmp_path / "m")
    assert caught.value.types == [DUMP]
    assert not (tmp_path / "m").exists()
    assert target.read_text() == "mine\n"


def test_a_model_that_writes_files_is_refused_at_load(tmp_path):
    # the author opted in at save (or wrote the file by hand): loading must ask again
    target = tmp_path / "bashrc"
    target.write_text("mine\n")
    pipe, x = _exploit(target)
    nbtrack.sklearn.save_model(pipe, tmp_path / "m", skops_trusted_types=[DUMP])
    for load in (nbtrack.pyfunc.load_model, nbtrack.sklearn.load_model):
        with pytest.raises(UnsafeModelError, match=f"trusted_types=\\['{DUMP}'\\]"):
            load(str(tmp_path / "m"))
    assert target.read_text() == "mine\n"
    # the explicit opt-in at load is the reader's decision, and does what it says
    loaded = nbtrack.pyfunc.load_model(str(tmp_path / "m"), trusted_types=[DUMP])
    with pytest.raises(ValueError):  # the step returns None, which the classifier refuses
        loaded.predict(x.iloc[:1])
    assert "dump_svmlight_file" in target.read_text()


@pytest.mark.parametrize(
    ("type_name", "trusted"),
    [
        ("sklearn.linear_model._logistic.LogisticRegression", True),  # an estimator
        ("sklearn.tree._tree.Tree", True),  # an estimator's part
        ("sklearn.preprocessing._function_transformer.FunctionTransformer", True),
        ("sklearn.metrics._classification.balanced_accuracy_score", True),  # a scorer's metric
        ("sklearn.metrics._scorer._Scorer", True),
        ("sklearn.feature_selection._univariate_selection.f_classif", True),  # a score
        ("numpy.random.mtrand.RandomState", True),
        ("numpy.ma.MaskedArray", True),
        ("scipy.sparse._csr.csr_matrix", True),
        ("scipy.stats._continuous_distns.reciprocal_gen", True),
        (DUMP, False),  # writes files
        ("sklearn.datasets._svmlight_format_io.load_svmlight_file", False),  # reads files
        ("sklearn.datasets._base.fetch_file", False),  # network
        ("sklearn.datasets._openml.fetch_openml", False),  # network
        ("sklearn.utils.parallel.Parallel", False),  # starts processes
        ("sklearn.utils._testing.TempMemmap", False),  # writes files
        ("sklearn.utils.fixes.parse_version", False),  # not a computation module
        ("numpy.memmap", False),  # maps files
        ("numpy.save", False),  # a numpy function
        ("numpy.sort", False),
        ("numpy.lib._npyio_impl.DataSource", False),  # opens URLs
        ("scipy.io._fortran.FortranFile", False),  # reads and writes files
        ("scipy.io._netcdf.netcdf_file", False),
        ("joblib.memory.Memory", False),  # caches to disk
        ("os.system", False),
        ("builtins.eval", False),
        ("subprocess.Popen", False),
        ("sklearn.linear_model._logistic.__builtins__", False),  # not a class nor a function
        ("sklearn.linear_model._logistic.NoSuchThing", False),
        ("nosuchpackage.Thing", False),
        ("LogisticRegression", False),  # no module
    ],
)
def test_trust_list(type_name, trusted):
    assert is_trusted(type_name) is trusted


def test_a_skops_file_holding_pickle_bytes_is_a_clear_error(tmp_path):
    pipe = LogisticRegression().fit(np.eye(2), [0, 1])
    nbtrack.sklearn.save_model(pipe, tmp_path / "m")
    (tmp_path / "m" / SKOPS_FILE_NAME).write_bytes(b"\x80\x04\x95" + b"\0" * 40)
    with pytest.raises(ModelFileError, match="not a readable skops file"):
        nbtrack.pyfunc.load_model(str(tmp_path / "m"))
