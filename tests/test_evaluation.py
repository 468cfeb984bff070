"""nbtrack.evaluate: model and data forms, what is logged, bad input, extra metrics, the report."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.dummy import DummyClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import nbtrack
from nbtrack import data as datasets
from nbtrack.errors import EvaluationError, InvalidParameter
from nbtrack.models import make_metric

FAST = {"bootstrap_resamples": 50, "log_model_explainability": False}


@pytest.fixture(scope="module")
def binary():
    x, y = load_breast_cancer(return_X_y=True, as_frame=True)
    xtr, xte, ytr, yte = train_test_split(x, y, test_size=0.3, random_state=0)
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(xtr, ytr)
    return model, xte, yte


@pytest.fixture(scope="module")
def regression():
    x, y = load_diabetes(return_X_y=True, as_frame=True)
    return LinearRegression().fit(x, y), x, y


def _runs() -> int:
    return len(nbtrack.search_runs(search_all_experiments=True))


# -- model and data forms -------------------------------------------------------------------


def test_every_model_form_gives_the_same_metrics(binary):
    model, x, y = binary
    df = x.assign(label=y.to_numpy())
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(model, name="model")
    forms = {
        "uri": info.model_uri,  # loaded through nbtrack.pyfunc.load_model
        "pyfunc": nbtrack.pyfunc.load_model(info.model_uri),
        "estimator": model,
    }
    results = {
        k: nbtrack.evaluate(
            m, df, targets="label", model_type="classifier", evaluator_config=FAST
        ).metrics
        for k, m in forms.items()
    }
    assert results["uri"] == results["pyfunc"] == results["estimator"]
    assert "score" in results["uri"]

    # a function has no predict_proba and no score: only the label metrics
    fn = nbtrack.evaluate(
        model.predict, df, targets="label", model_type="classifier", evaluator_config=FAST
    ).metrics
    static = nbtrack.evaluate(
        None,
        df.assign(pred=model.predict(x)),
        targets="label",
        predictions="pred",
        model_type="classifier",
        evaluator_config=FAST,
    ).metrics
    assert fn == static
    assert set(fn) == set(results["uri"]) - {"score", "log_loss", "roc_auc", "precision_recall_auc"}
    assert fn["accuracy_score"] == results["uri"]["accuracy_score"]


@pytest.mark.parametrize(
    "form",
    [
        "tuple",  # the (X_test, y_test) the study notes pass (MLflow rejects it)
        "frame",
        "numpy",
        "list",
        "pandas_dataset",
        "numpy_dataset",
    ],
)
def test_every_data_form_gives_the_same_metrics(binary, form):
    _, x, y = binary
    # the same fit, once with column names and once without
    model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(x, y)
    array_model = make_pipeline(StandardScaler(), LogisticRegression(C=0.05)).fit(
        x.to_numpy(), y.to_numpy()
    )
    expected = nbtrack.evaluate(
        model, (x, y), model_type="classifier", evaluator_config=FAST
    ).metrics
    calls = {
        "tuple": lambda: nbtrack.evaluate(
            model, (x, y), model_type="classifier", evaluator_config=FAST
        ),
        "frame": lambda: nbtrack.evaluate(
            model, x.assign(t=y), targets="t", model_type="classifier", evaluator_config=FAST
        ),
        "numpy": lambda: nbtrack.evaluate(
            array_model,
            x.to_numpy(),
            targets=y.to_numpy(),
            model_type="classifier",
            evaluator_config=FAST,
        ),
        "list": lambda: nbtrack.evaluate(
            array_model,
            x.to_numpy().tolist(),
            targets=list(y),
            model_type="classifier",
            evaluator_config=FAST,
        ),
        "pandas_dataset": lambda: nbtrack.evaluate(
            model,
            datasets.from_pandas(x.assign(t=y), targets="t", name="test"),
            model_type="classifier",
            evaluator_config=FAST,
        ),
        "numpy_dataset": lambda: nbtrack.evaluate(
            array_model,
            datasets.from_numpy(x.to_numpy(), targets=y.to_numpy()),
            model_type="classifier",
            evaluator_config=FAST,
        ),
    }
    found = calls[form]().metrics
    for key, value in expected.items():
        assert found[key] == pytest.approx(value, rel=1e-9), key


# -- what is logged --------------------------------------------------------------------------


def test_a_new_run_holds_metrics_intervals_dataset_and_openable_files(binary):
    model, x, y = binary
    result = nbtrack.evaluate(
        model, (x, y), model_type="classifier", evaluator_config={"bootstrap_resamples": 200}
    )
    assert nbtrack.active_run() is None  # the run evaluate started is ended
    run = nbtrack.get_run(result.run_id)
    assert run.data.tags["mlflow.runType"] == "evaluation"
    logged = run.data.metrics
    for name, value in result.metrics.items():
        assert logged[name] == pytest.approx(value)
    low, high = result.confidence_intervals["accuracy_score"]
    assert low <= result.metrics["accuracy_score"] <= high
    assert logged["accuracy_score_ci_lower"] == low
    assert logged["accuracy_score_ci_upper"] == high
    assert "example_count_ci_lower" not in logged  # a count that every resample keeps
    (dataset_input,) = run.inputs.dataset_inputs
    assert {t.key: t.value for t in dataset_input.tags}["mlflow.data.context"] == "evaluation"
    assert json.loads(dataset_input.dataset.profile)["num_rows"] == len(x)
    for name in (
        "confusion_matrix",
        "roc_curve_plot",
        "precision_recall_curve_plot",
        "calibration_curve_plot",
        "permutation_importance_plot",
    ):
        with open(result.artifacts[name].path, "rb") as f:
            assert f.read(8) == b"\x89PNG\r\n\x1a\n", name
        assert result.artifacts[name].uri.endswith(f"/{name}.png")
    per_class = result.tables["per_class_metrics"]
    assert list(per_class["positive_class"]) == [0, 1]
    importance = result.tables["permutation_importance"]
    assert set(importance["feature"]) == set(x.columns)
    summary = result.artifacts["evaluation_summary"].content
    assert summary["metrics"][0]["metric"] == "score"


def test_the_active_run_is_used_and_stays_active(regression):
    model, x, y = regression
    with nbtrack.start_run() as run:
        result = nbtrack.evaluate(
            model, x.assign(y=y), targets="y", model_type="regressor", evaluator_config=FAST
        )
        assert nbtrack.active_run().info.run_id == run.info.run_id
    assert result.run_id == run.info.run_id
    assert _runs() == 1
    assert {"residuals_plot", "predicted_vs_actual_plot"} <= set(result.artifacts)
    assert "r2_score_ci_lower" in nbtrack.get_run(run.info.run_id).data.metrics


def test_metric_prefix_names_metrics_and_files(regression):
    model, x, y = regression
    result = nbtrack.evaluate(
        model, (x, y), model_type="regressor", evaluator_config={**FAST, "metric_prefix": "val_"}
    )
    assert set(result.metrics) and all(k.startswith("val_") for k in result.metrics)
    assert "val_r2_score" in result.confidence_intervals
    assert all(name.startswith("val_") for name in result.artifacts)
    assert "val_r2_score_ci_upper" in nbtrack.get_run(result.run_id).data.metrics


def test_a_logged_model_uri_is_tagged_for_model_cards(binary):
    model, x, y = binary
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(model, name="model")
    result = nbtrack.evaluate(
        info.model_uri, (x, y), model_type="classifier", evaluator_config=FAST
    )
    tags = nbtrack.get_run(result.run_id).data.tags
    assert tags["nbtrack.evaluation.model_uri"] == info.model_uri


def test_intervals_off_and_seeded(binary):
    model, x, y = binary
    off = nbtrack.evaluate(
        model,
        (x, y),
        model_type="classifier",
        evaluator_config={"bootstrap_resamples": 0, "log_model_explainability": False},
    )
    assert off.confidence_intervals == {}
    assert not any("_ci_" in k for k in nbtrack.get_run(off.run_id).data.metrics)
    a, b = (
        nbtrack.evaluate(model, (x, y), model_type="classifier", evaluator_config=FAST)
        for _ in range(2)
    )
    assert a.confidence_intervals == b.confidence_intervals


# -- bad input --------------------------------------------------------------------------------


def _bad_cases(model, x, y, reg, rx, ry):
    df = x.assign(label=y.to_numpy())
    return {
        # no targets for a classifier
        "missing targets": lambda: nbtrack.evaluate(model, df, model_type="classifier"),
        "targets not a column": lambda: nbtrack.evaluate(
            model, df, targets="nope", model_type="classifier"
        ),
        "wrong model_type": lambda: nbtrack.evaluate(
            model, df, targets="label", model_type="classification"
        ),
        "pos_label not a label": lambda: nbtrack.evaluate(
            model,
            df,
            targets="label",
            model_type="classifier",
            evaluator_config={"pos_label": "yes"},
        ),
        "NaN targets": lambda: nbtrack.evaluate(
            model,
            df.assign(label=np.where(np.arange(len(df)) == 3, np.nan, y)),
            targets="label",
            model_type="classifier",
        ),
        "predictions of the wrong length": lambda: nbtrack.evaluate(
            lambda frame: model.predict(frame)[:-1], df, targets="label", model_type="classifier"
        ),
        "regressor as a classifier": lambda: nbtrack.evaluate(
            reg, rx.assign(t=ry), targets="t", model_type="classifier"
        ),
        "text targets for a regressor": lambda: nbtrack.evaluate(
            reg, rx.assign(t=np.where(ry > 150, "high", "low")), targets="t", model_type="regressor"
        ),
        "no model, no predictions": lambda: nbtrack.evaluate(
            None, df, targets="label", model_type="classifier"
        ),
        "array data, named targets": lambda: nbtrack.evaluate(
            model, x.to_numpy(), targets="label", model_type="classifier"
        ),
        "sample_weights of the wrong length": lambda: nbtrack.evaluate(
            model,
            df,
            targets="label",
            model_type="classifier",
            evaluator_config={"sample_weights": [1.0, 2.0]},
        ),
        "extra metric not made with make_metric": lambda: nbtrack.evaluate(
            model, df, targets="label", model_type="classifier", extra_metrics=[len]
        ),
        "no data": lambda: nbtrack.evaluate(model, None, model_type="classifier"),
        "unknown model form": lambda: nbtrack.evaluate(
            42, df, targets="label", model_type="classifier"
        ),
        "three-item tuple": lambda: nbtrack.evaluate(model, (x, y, y), model_type="classifier"),
        "evaluator_config not a dict": lambda: nbtrack.evaluate(
            model, df, targets="label", model_type="classifier", evaluator_config=["x"]
        ),
        "custom artifacts": lambda: nbtrack.evaluate(
            model, df, targets="label", model_type="classifier", custom_artifacts=[print]
        ),
    }


BAD = [
    "missing targets",
    "targets not a column",
    "wrong model_type",
    "pos_label not a label",
    "NaN targets",
    "predictions of the wrong length",
    "regressor as a classifier",
    "text targets for a regressor",
    "no model, no predictions",
    "array data, named targets",
    "sample_weights of the wrong length",
    "extra metric not made with make_metric",
    "no data",
    "unknown model form",
    "three-item tuple",
    "custom artifacts",
    "evaluator_config not a dict",
]


@pytest.mark.parametrize("case", BAD)
def test_bad_input_is_a_clear_error_and_logs_nothing(binary, regression, case):
    call = _bad_cases(*binary, *regression)
    with pytest.raises(EvaluationError) as caught:
        call[case]()
    assert len(str(caught.value)) > 20
    assert _runs() == 0


def test_bad_input_leaves_the_active_run_untouched(binary):
    model, x, y = binary
    with nbtrack.start_run() as run:
        with pytest.raises(EvaluationError, match="pos_label"):
            nbtrack.evaluate(
                model, (x, y), model_type="classifier", evaluator_config={"pos_label": 7}
            )
    stored = nbtrack.get_run(run.info.run_id)
    assert stored.data.metrics == {}
    assert stored.inputs.dataset_inputs == []


def test_a_bad_metric_name_logs_nothing(binary):
    model, x, y = binary
    bad = make_metric(
        eval_fn=lambda predictions, targets: 1.0, greater_is_better=True, name="no//slashes"
    )
    with pytest.raises(InvalidParameter):
        nbtrack.evaluate(
            model, (x, y), model_type="classifier", extra_metrics=[bad], evaluator_config=FAST
        )
    assert _runs() == 0


# -- extra metrics ----------------------------------------------------------------------------


def test_extra_metrics_get_values_and_intervals(regression):
    model, x, y = regression

    def squared_diff_plus_one(predictions, targets, metrics):
        assert metrics["r2_score"].aggregate_results["r2_score"] > 0
        return float(np.sum((predictions - targets) ** 2) + 1)

    def error_per_bmi(predictions, targets, bmi):  # a feature column, by name
        return float(np.mean(np.abs(predictions - targets) / (bmi.abs() + 1)))

    def old_style(eval_df, builtin_metrics):
        return float(eval_df["prediction"].mean() + 0 * builtin_metrics["r2_score"])

    result = nbtrack.evaluate(
        model,
        (x, y),
        model_type="regressor",
        evaluator_config=FAST,
        extra_metrics=[
            make_metric(eval_fn=squared_diff_plus_one, greater_is_better=False),
            make_metric(eval_fn=error_per_bmi, greater_is_better=False),
            make_metric(eval_fn=old_style, greater_is_better=True, name="mean_pred", version="v1"),
        ],
    )
    expected = float(np.sum((model.predict(x) - y) ** 2) + 1)
    assert result.metrics["squared_diff_plus_one"] == pytest.approx(expected)
    assert result.metrics["mean_pred/v1"] == pytest.approx(model.predict(x).mean())
    per_bmi = np.mean(np.abs(model.predict(x) - y) / (x["bmi"].abs() + 1))
    assert result.metrics["error_per_bmi"] == pytest.approx(per_bmi)
    assert "error_per_bmi" in result.confidence_intervals
    low, high = result.confidence_intervals["squared_diff_plus_one"]
    assert low < expected < high
    assert result.greater_is_better["squared_diff_plus_one"] is False


def test_make_metric_needs_a_name_for_a_lambda():
    with pytest.raises(EvaluationError, match="name"):
        make_metric(eval_fn=lambda predictions: 0.0, greater_is_better=True)


# -- the report -------------------------------------------------------------------------------


def test_the_report_shows_intervals_baseline_and_plots(binary):
    model, x, y = binary
    result = nbtrack.evaluate(
        model,
        (x, y),
        model_type="classifier",
        evaluator_config=FAST,
        baseline_model=DummyClassifier().fit(x, y),
    )
    bundle = result._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert html.count("data:image/png;base64,") == 4  # no explainability in FAST
    assert "95% CI" in html and "difference" in html and "gate: not validated" in html
    text = bundle["text/plain"]
    assert "accuracy_score" in text and "baseline" in text
    panel = result._panel()
    images = [w for w in panel.children[1].children]
    assert len(images) == 4 and all(w.format == "png" for w in images)
    panel.close()
