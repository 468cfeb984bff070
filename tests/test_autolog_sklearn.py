"""nbtrack.sklearn.autolog: runs, params, metrics, models, searches, unpatching, failures."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import sklearn
import sklearn.metrics
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.cluster import KMeans
from sklearn.datasets import make_classification, make_regression
from sklearn.decomposition import PCA
from sklearn.ensemble import ExtraTreesClassifier
from sklearn.experimental import enable_halving_search_cv  # noqa: F401
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import (
    GridSearchCV,
    HalvingGridSearchCV,
    RandomizedSearchCV,
    cross_val_score,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier

import nbtrack
import nbtrack.models
import nbtrack.sklearn
from nbtrack.autolog import metrics as training
from nbtrack.autolog import sklearn as patch
from nbtrack.entities import RunStatus
from nbtrack.errors import InvalidParameter

CLASSIFIER_METRICS = {
    "training_accuracy_score",
    "training_f1_score",
    "training_precision_score",
    "training_recall_score",
    "training_log_loss",
    "training_roc_auc",
    "training_score",
}
REGRESSOR_METRICS = {
    "training_mean_squared_error",
    "training_root_mean_squared_error",
    "training_mean_absolute_error",
    "training_r2_score",
    "training_score",
}


@pytest.fixture
def data():
    X, y = make_classification(n_samples=120, n_features=5, random_state=0)
    return X, y


def all_runs():
    return nbtrack.search_runs(search_all_experiments=True, output_format="list")


def only_run():
    runs = all_runs()
    assert len(runs) == 1, [r.data.tags.get("estimator_name") for r in runs]
    return runs[0]


def artifacts(run_id, path=None):
    return {f.path for f in nbtrack.MlflowClient().list_artifacts(run_id, path)}


# -- what a fit logs --------------------------------------------------------------------


def test_a_classifier_fit_logs_a_finished_run_of_its_own(data):
    X, y = data
    nbtrack.sklearn.autolog()
    model = LogisticRegression(C=0.5, max_iter=500)
    assert model.fit(X, y) is model
    run = only_run()
    assert run.info.status == RunStatus.FINISHED
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.params == {k: str(v) for k, v in model.get_params(deep=True).items()}
    assert set(run.data.metrics) == CLASSIFIER_METRICS
    assert run.data.metrics["training_score"] == model.score(X, y)
    (dataset,) = run.inputs.dataset_inputs
    assert {t.key: t.value for t in dataset.tags} == {"mlflow.data.context": "train"}
    assert json.loads(dataset.dataset.profile)["num_rows"] == len(X)
    assert "model/MLmodel" in artifacts(run.info.run_id, "model")
    loaded = nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    signature = nbtrack.models.get_model_info(f"runs:/{run.info.run_id}/model").signature
    assert signature is not None and signature.inputs is not None


def _sklearn_classifier_metrics(y, pred, proba, weight):
    m = sklearn.metrics
    score = proba[:, 1] if proba.shape[1] == 2 else proba
    return {
        "training_precision_score": m.precision_score(
            y, pred, average="weighted", sample_weight=weight, zero_division=0
        ),
        "training_recall_score": m.recall_score(
            y, pred, average="weighted", sample_weight=weight, zero_division=0
        ),
        "training_f1_score": m.f1_score(
            y, pred, average="weighted", sample_weight=weight, zero_division=0
        ),
        "training_accuracy_score": m.accuracy_score(y, pred, sample_weight=weight),
        "training_log_loss": m.log_loss(y, proba, sample_weight=weight),
        "training_roc_auc": m.roc_auc_score(
            y, score, average="weighted", multi_class="ovo", sample_weight=weight
        ),
    }


@pytest.mark.parametrize(
    ("n_classes", "labels", "weighted"),
    [
        (2, None, False),  # binary 0/1 labels: the fast path
        (2, np.array(["no", "yes"]), True),  # string labels with sample weights
        (3, None, False),  # multiclass: weighted averages, ROC AUC one-vs-one by sklearn
        (3, np.array([10, 20, 30]), False),  # multiclass with other integer labels
    ],
)
def test_training_metrics_equal_scikit_learn_s(n_classes, labels, weighted):
    X, y = make_classification(
        n_samples=150, n_features=6, n_informative=4, n_classes=n_classes, random_state=1
    )
    if labels is not None:
        y = labels[y]
    weight = np.random.default_rng(0).uniform(0.5, 2, len(y)) if weighted else None
    # a shallow tree leaves errors and ties in the scores, so every metric is tested
    model = DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y, sample_weight=weight)
    ours = training.training_metrics(model, X, y, weight)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # sklearn's own notes on undefined precision
        expected = _sklearn_classifier_metrics(y, model.predict(X), model.predict_proba(X), weight)
    expected["training_score"] = model.score(X, y, sample_weight=weight)
    assert ours == pytest.approx(expected, rel=1e-12)


def test_a_regressor_logs_regression_metrics_as_sklearn_computes_them():
    X, y = make_regression(n_samples=80, n_features=4, noise=5, random_state=0)
    nbtrack.sklearn.autolog(log_models=False)
    model = Ridge(alpha=2.0).fit(X, y)
    metrics = only_run().data.metrics
    assert set(metrics) == REGRESSOR_METRICS
    pred = model.predict(X)
    assert metrics["training_mean_squared_error"] == pytest.approx(
        sklearn.metrics.mean_squared_error(y, pred), rel=1e-12
    )
    assert metrics["training_root_mean_squared_error"] == pytest.approx(
        np.sqrt(sklearn.metrics.mean_squared_error(y, pred)), rel=1e-12
    )
    assert metrics["training_mean_absolute_error"] == pytest.approx(
        sklearn.metrics.mean_absolute_error(y, pred), rel=1e-12
    )
    assert metrics["training_r2_score"] == pytest.approx(model.score(X, y), rel=1e-12)
    assert metrics["training_score"] == pytest.approx(model.score(X, y), rel=1e-12)


def test_a_pipeline_logs_once_with_its_steps_params(data):
    X, y = data
    nbtrack.sklearn.autolog(log_models=False)
    Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression())]).fit(X, y)
    run = only_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["clf__C"] == "1.0"
    assert run.data.params["scale__with_mean"] == "True"
    assert set(run.data.metrics) == CLASSIFIER_METRICS


@pytest.mark.parametrize(
    ("estimator", "call", "signature_from"),
    [
        (KMeans(n_clusters=3, n_init=2, random_state=0), "fit", "predict"),  # a clusterer
        (KMeans(n_clusters=3, n_init=2, random_state=0), "fit_predict", "predict"),
        (PCA(n_components=2), "fit_transform", "transform"),  # a transformer
    ],
)
def test_clusterers_and_transformers_log_params_and_model_without_labels(
    data, estimator, call, signature_from
):
    X, _ = data
    nbtrack.sklearn.autolog()
    getattr(estimator, call)(X)
    run = only_run()
    assert run.data.tags["estimator_name"] == type(estimator).__name__
    assert run.data.params["n_components" if signature_from == "transform" else "n_clusters"]
    assert run.data.metrics == {}  # MLflow computes training metrics from labels only
    info = nbtrack.models.get_model_info(f"runs:/{run.info.run_id}/model")
    assert info.signature.outputs is not None


def test_data_preparation_estimators_are_not_runs_of_their_own(data):
    X, _ = data
    nbtrack.sklearn.autolog()
    StandardScaler().fit(X)
    StandardScaler().fit_transform(X)
    assert all_runs() == []


def test_cross_validation_helpers_fit_without_logging(data):
    X, y = data
    nbtrack.sklearn.autolog()
    cross_val_score(LogisticRegression(), X, y, cv=3)
    assert all_runs() == []


# -- searches ---------------------------------------------------------------------------


@pytest.mark.slow  # worker processes (or matplotlib) take seconds to start
def test_a_grid_search_with_two_jobs_logs_parent_and_one_child_per_candidate(data):
    X, y = data
    nbtrack.sklearn.autolog()
    grid = {"max_depth": [1, 2, 3], "min_samples_leaf": [1, 5]}
    search = GridSearchCV(DecisionTreeClassifier(random_state=0), grid, cv=3, n_jobs=2)
    search.fit(X, y)
    runs = all_runs()
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    assert len(parents) == 1 and len(runs) == 7  # one run per candidate, no run per fold
    parent = parents[0]
    assert parent.data.params["best_max_depth"] == str(search.best_params_["max_depth"])
    assert parent.data.params["cv"] == "3"
    assert "estimator__max_depth" not in parent.data.params  # a search logs shallow params
    assert parent.data.metrics["best_cv_score"] == search.best_score_
    assert {"cv_results.csv", "model", "best_estimator"} <= artifacts(parent.info.run_id)
    table = Path(parent.info.artifact_uri.removeprefix("file://"), "cv_results.csv")
    assert table.read_text().splitlines()[0].startswith("mean_fit_time,")
    children = [r for r in runs if r is not parent]
    by_params = {
        (r.data.params["max_depth"], r.data.params["min_samples_leaf"]): r for r in children
    }
    for i, params in enumerate(search.cv_results_["params"]):
        child = by_params[(str(params["max_depth"]), str(params["min_samples_leaf"]))]
        assert child.data.tags["mlflow.parentRunId"] == parent.info.run_id
        assert child.info.status == RunStatus.FINISHED
        assert child.data.params["random_state"] == "0"  # the seed's other params
        assert child.data.metrics["mean_test_score"] == search.cv_results_["mean_test_score"][i]
        assert child.data.metrics["rank_test_score"] == search.cv_results_["rank_test_score"][i]
        assert "std_test_score" in child.data.metrics
        assert not any(k.startswith("split") for k in child.data.metrics)


@pytest.mark.parametrize(
    "make_search",
    [
        # a randomized search: the 2 best of 5 sampled candidates become child runs
        lambda est, grid: RandomizedSearchCV(est, grid, n_iter=5, cv=3, random_state=0),
        # a halving search: rows are (candidate, iteration) pairs, ranked as sklearn ranks
        lambda est, grid: HalvingGridSearchCV(est, grid, cv=3, random_state=0),
    ],
)
def test_max_tuning_runs_keeps_the_best_ranked_candidates(data, make_search):
    X, y = data
    nbtrack.sklearn.autolog(log_models=False, max_tuning_runs=2)
    grid = {"max_depth": [1, 2, 3, 4], "min_samples_leaf": [1, 5]}
    search = make_search(DecisionTreeClassifier(random_state=0), grid).fit(X, y)
    children = [r for r in all_runs() if "mlflow.parentRunId" in r.data.tags]
    ranks = np.sort(search.cv_results_["rank_test_score"])[:2]
    assert sorted(r.data.metrics["rank_test_score"] for r in children) == list(ranks)


def test_max_tuning_runs_must_be_a_count():
    with pytest.raises(InvalidParameter, match="max_tuning_runs"):
        nbtrack.sklearn.autolog(max_tuning_runs=-1)


# -- runs the user started ----------------------------------------------------------------


def test_a_fit_inside_an_active_run_logs_to_it_and_a_second_fit_gets_a_child_run(data):
    X, y = data
    nbtrack.sklearn.autolog(log_models=False)
    with nbtrack.start_run() as run:
        LogisticRegression(C=1.0).fit(X, y)
        LogisticRegression(C=2.0).fit(X, y)
    outer = nbtrack.get_run(run.info.run_id)
    assert outer.data.params["C"] == "1.0"
    assert "mlflow.autologging" not in outer.data.tags
    (child,) = [r for r in all_runs() if r.info.run_id != run.info.run_id]
    assert child.data.tags["mlflow.parentRunId"] == run.info.run_id
    assert child.data.params["C"] == "2.0"


def test_exclusive_autolog_stays_out_of_user_runs(data):
    X, y = data
    nbtrack.sklearn.autolog(exclusive=True, log_models=False)
    with nbtrack.start_run() as run:
        LogisticRegression().fit(X, y)
    assert nbtrack.get_run(run.info.run_id).data.params == {}
    assert len(all_runs()) == 1


def test_registered_model_name_registers_each_logged_model(data):
    X, y = data
    nbtrack.sklearn.autolog(registered_model_name="churn", log_input_examples=True)
    LogisticRegression().fit(X, y)
    LogisticRegression(C=2.0).fit(X, y)
    version = nbtrack.MlflowClient().get_model_version("churn", 2)
    assert version.run_id in {r.info.run_id for r in all_runs()}
    info = nbtrack.models.get_model_info(f"runs:/{version.run_id}/model")
    assert info.saved_input_example_info is not None  # log_input_examples=True


def test_extra_tags_go_on_runs_autolog_creates(data):
    X, y = data
    nbtrack.sklearn.autolog(log_models=False, extra_tags={"team": "vision"})
    LogisticRegression().fit(X, y)
    assert only_run().data.tags["team"] == "vision"


# -- post-training metrics ------------------------------------------------------------------


def test_metrics_on_a_logged_model_s_predictions_are_logged_to_its_run(data):
    X, y = data
    X_train, X_test, y_train, y_test = X[:80], X[80:], y[:80], y[80:]
    nbtrack.sklearn.autolog(log_models=False)
    model = LogisticRegression().fit(X_train, y_train)
    y_pred = model.predict(X_test)
    first = sklearn.metrics.accuracy_score(y_test, y_pred)
    sklearn.metrics.accuracy_score(y_test, y_pred)
    sklearn.metrics.accuracy_score(y_test, y_pred.copy())  # a derived array is not tracked
    score = model.score(X_test, y_test)
    run = only_run()
    assert run.data.metrics["accuracy_score_X_test"] == first
    assert run.data.metrics["accuracy_score-2_X_test"] == first
    assert "accuracy_score-3_X_test" not in run.data.metrics
    assert run.data.metrics["LogisticRegression_score_X_test"] == score
    info = json.loads(
        Path(run.info.artifact_uri.removeprefix("file://"), "metric_info.json").read_text()
    )
    assert info["accuracy_score_X_test"] == "accuracy_score(y_true=y_test, y_pred=y_pred)"
    contexts = {t.value for d in run.inputs.dataset_inputs for t in d.tags}
    assert contexts == {"train", "eval"}


# -- patching and unpatching ------------------------------------------------------------------


def test_disable_restores_every_original_exactly():
    from sklearn.base import BaseEstimator as Base
    from sklearn.base import ClassifierMixin as Classifier

    before = {
        "fit": LogisticRegression.fit,
        "score": Classifier.score,
        "predict": vars(Pipeline)["predict"].fn,
        "metric": sklearn.metrics.accuracy_score,
        "cv": sklearn.model_selection.cross_val_score,
    }
    nbtrack.sklearn.autolog()
    assert LogisticRegression.fit is not before["fit"]
    assert vars(Pipeline)["predict"].fn is not before["predict"]
    assert "__init_subclass__" in vars(Base)
    nbtrack.sklearn.autolog(disable=True)
    after = {
        "fit": LogisticRegression.fit,
        "score": Classifier.score,
        "predict": vars(Pipeline)["predict"].fn,
        "metric": sklearn.metrics.accuracy_score,
        "cv": sklearn.model_selection.cross_val_score,
    }
    assert all(after[k] is before[k] for k in before)
    assert "__init_subclass__" not in vars(Base)
    # inherited methods were patched where they are defined, never copied onto subclasses
    assert "fit" not in vars(ExtraTreesClassifier)


def test_patching_keeps_availability_and_signatures():
    nbtrack.sklearn.autolog()
    pipe = Pipeline([("pca", PCA())])
    assert not hasattr(pipe, "predict_proba")  # available_if still answers
    assert list(__import__("inspect").signature(LogisticRegression.fit).parameters) == [
        "self",
        "X",
        "y",
        "sample_weight",
    ]


class _Fails(ClassifierMixin, BaseEstimator):
    """A user's classifier whose fit raises."""

    def fit(self, X, y):
        raise ValueError("bad data")


def test_an_estimator_defined_after_autolog_is_patched_and_restored(data):
    X, y = data
    nbtrack.sklearn.autolog(log_models=False)

    class Majority(ClassifierMixin, BaseEstimator):
        def __init__(self, strength=1):
            self.strength = strength

        def fit(self, X, y):
            self.classes_, counts = np.unique(y, return_counts=True)
            self.label_ = self.classes_[np.argmax(counts)]
            return self

        def predict(self, X):
            return np.full(len(X), self.label_)

    original = vars(Majority)["fit"].__nbtrack_original__
    Majority(strength=3).fit(X, y)
    run = only_run()
    assert run.data.params == {"strength": "3"}
    assert run.data.metrics["training_accuracy_score"] == np.mean(y == np.bincount(y).argmax())
    nbtrack.sklearn.autolog(disable=True)
    assert Majority.fit is original


def test_the_user_s_exception_propagates_and_the_run_fails(data):
    X, y = data
    nbtrack.sklearn.autolog(log_models=False)
    with pytest.raises(ValueError, match="bad data"):
        _Fails().fit(X, y)
    assert only_run().info.status == RunStatus.FAILED


def test_an_interrupted_fit_ends_its_run_killed(data):
    class Interrupted(ClassifierMixin, BaseEstimator):
        def fit(self, X, y):
            raise KeyboardInterrupt

    X, y = data
    nbtrack.sklearn.autolog(log_models=False)
    with pytest.raises(KeyboardInterrupt):
        Interrupted().fit(X, y)
    assert only_run().info.status == RunStatus.KILLED


def test_a_failure_inside_autolog_warns_once_and_the_fit_still_returns(data):
    class OddParams(ClassifierMixin, BaseEstimator):
        """get_params gives a key no store accepts."""

        def get_params(self, deep=True):
            return {"not a valid key!": 1}

        def fit(self, X, y):
            self.fitted_ = True
            return self

    X, y = data
    nbtrack.sklearn.autolog(log_models=False)
    model = OddParams()
    failed = r"^nbtrack: autologging failed: .*not a valid key"
    with pytest.warns(RuntimeWarning, match=failed) as w:
        assert model.fit(X, y) is model
    assert len([x for x in w if "autologging failed" in str(x.message)]) == 1
    assert w[0].filename == __file__  # attributed to the user's call
    assert model.fitted_


def test_silent_autolog_does_not_warn(data):
    class OddParams(ClassifierMixin, BaseEstimator):
        def get_params(self, deep=True):
            return {"not a valid key!": 1}

        def fit(self, X, y):
            return self

    nbtrack.sklearn.autolog(log_models=False, silent=True)
    OddParams().fit(*data)  # warnings are errors in this suite: none may be raised


def test_nbtrack_autolog_stays_callable_once_the_package_is_imported(data):
    import nbtrack.autolog.sklearn  # makes `nbtrack.autolog` name the package

    X, y = data
    nbtrack.autolog(log_models=False)
    assert patch.current_config()["log_models"] is False
    LogisticRegression().fit(X, y)
    nbtrack.autolog(disable=True)
    assert patch.current_config() is None
    LogisticRegression().fit(X, y)
    assert len(all_runs()) == 1
