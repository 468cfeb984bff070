"""Which types a skops file may build without the caller vouching for them.

A skops file names every class and function it needs, and loading builds only those. The
danger is not the building but what the object does afterwards: a ``FunctionTransformer``
calls its ``func`` at ``predict()``, so a file naming ``sklearn.datasets.dump_svmlight_file``
there overwrites any file the model's author chose. nbtrack therefore trusts, beyond what
skops trusts itself, only types that cannot touch files, the network or processes:

* classes of the scikit-learn modules that hold estimators, transformers and their parts
  (:data:`SKLEARN_CLASS_MODULES`), of numpy's array, scalar and random modules, and of the
  numerical scipy modules (:data:`SCIPY_CLASS_MODULES`);
* functions of the scikit-learn modules of pure computations (:data:`SKLEARN_FUNCTION_MODULES`:
  metrics, kernels, scaling and feature scores);
* never anything listed in :data:`REFUSED` (readers and writers of files, memory maps,
  process pools), even inside a trusted module.

Anything else (numpy and scipy functions, your own classes and functions, the loaders and
writers of ``sklearn.datasets``, joblib) needs the explicit opt-in: ``skops_trusted_types=``
when saving and ``trusted_types=`` when loading.
"""

from __future__ import annotations

import importlib
import types

# The second component of a scikit-learn module whose classes are estimators or their parts.
SKLEARN_CLASS_MODULES = frozenset(
    {
        "base", "calibration", "cluster", "compose", "covariance", "cross_decomposition",
        "decomposition", "discriminant_analysis", "dummy", "ensemble", "feature_extraction",
        "feature_selection", "frozen", "gaussian_process", "impute", "isotonic",
        "kernel_approximation", "kernel_ridge", "linear_model", "manifold", "metrics",
        "mixture", "model_selection", "multiclass", "multioutput", "naive_bayes", "neighbors",
        "neural_network", "pipeline", "preprocessing", "random_projection",
        "semi_supervised", "svm", "tree",
    }
)  # fmt: skip
# Scikit-learn modules whose functions only compute (a scorer's metric, a kernel, a score).
SKLEARN_FUNCTION_MODULES = frozenset({"metrics", "feature_selection", "preprocessing"})
NUMPY_CLASS_MODULES = frozenset({"numpy", "numpy.random", "numpy.ma", "numpy.dtypes"})
SCIPY_CLASS_MODULES = frozenset({"sparse", "stats", "interpolate", "special", "spatial", "linalg"})
# Types inside those modules that read or write files or start processes.
REFUSED = frozenset(
    {
        "numpy.memmap",
        "numpy.DataSource",
        "numpy.lib.npyio.DataSource",
        "numpy.lib._datasource.DataSource",
        "numpy.ma.mrecords",
        "sklearn.utils.parallel.Parallel",
        "sklearn.metrics._plot",
    }
)
_REFUSED_MODULE_PARTS = frozenset({"_testing", "tests", "datasets", "externals", "io"})


def is_trusted(type_name: str) -> bool:
    """Whether the skops type ``module.name`` is safe to build without an opt-in.

    Parameters
    ----------
    type_name
        The fully qualified name skops records, such as
        ``"sklearn.linear_model._logistic.LogisticRegression"``.

    Returns
    -------
    bool
        True for classes of the estimator modules of scikit-learn and the numerical modules
        of numpy and scipy, and for functions of scikit-learn's metrics, feature scores and
        preprocessing; False for everything else.
    """
    module_name, _, attr = type_name.rpartition(".")
    parts = module_name.split(".")
    if not attr or attr.startswith("__") or _refused(type_name, parts):
        return False
    found = _resolve(module_name, attr)
    if found is None:
        return False
    if isinstance(found, type):
        return found.__module__ == module_name and _class_module_trusted(parts)
    return (
        isinstance(found, types.FunctionType)
        and found.__module__ == module_name
        and parts[0] == "sklearn"
        and len(parts) > 1
        and parts[1] in SKLEARN_FUNCTION_MODULES
    )


def _refused(type_name: str, parts: list[str]) -> bool:
    if any(type_name == r or type_name.startswith(r + ".") for r in REFUSED):
        return True
    return any(part.lstrip("_") in _REFUSED_MODULE_PARTS for part in parts)


def _class_module_trusted(parts: list[str]) -> bool:
    package = parts[0]
    if package == "sklearn":
        return len(parts) > 1 and parts[1] in SKLEARN_CLASS_MODULES
    if package == "numpy":
        return ".".join(parts[:2]) in NUMPY_CLASS_MODULES or parts == ["numpy"]
    if package == "scipy":
        return len(parts) > 1 and parts[1] in SCIPY_CLASS_MODULES
    return False


def _resolve(module_name: str, attr: str) -> object | None:
    if module_name.split(".")[0] not in ("sklearn", "numpy", "scipy"):
        return None  # never import a module the file names unless it is one of ours
    try:
        return getattr(importlib.import_module(module_name), attr, None)
    except ImportError:
        return None
