"""The files ``evaluate`` logs: PNG plots, CSV and JSON tables anyone can open.

Classifiers: ``confusion_matrix.png`` (normalized by true label, as MLflow's),
``roc_curve_plot.png``, ``precision_recall_curve_plot.png`` and
``calibration_curve_plot.png`` (with probabilities), ``per_class_metrics.csv``.
Regressors: ``residuals_plot.png``, ``predicted_vs_actual_plot.png``. Both:
``permutation_importance.csv`` and ``permutation_importance_plot.png`` (scikit-learn's
permutation importance on at most ``explainability_nsamples`` rows), and
``evaluation_summary.json`` (each metric with its interval, the baseline and the paired
difference). Figures are drawn on matplotlib's Agg canvas without pyplot, so no global
figure state is touched and no display is needed. The ``metric_prefix`` prefixes each file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from nbtrack.errors import missing

DPI = 100
SIZE = (6.0, 4.0)
UNIT_TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)


def _figure() -> Any:
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise missing("matplotlib", "evaluate", "the evaluation plots") from exc
    figure = Figure(figsize=SIZE, dpi=DPI)
    figure.subplots_adjust(left=0.13, right=0.95, bottom=0.13, top=0.92)  # no layout pass
    FigureCanvasAgg(figure)
    return figure


def _title(ax: Any, text: str) -> None:
    """A title at a fixed height: matplotlib then skips measuring the axes to place it."""
    ax.set_title(text, y=1.01)


def _save(figure: Any, path: Path) -> Path:
    # zlib level 1: a third of the default level's encoding time for a few more kilobytes
    figure.savefig(path, format="png", pil_kwargs={"compress_level": 1})
    return path


def confusion_matrix(
    folder: Path, name: str, y_true: Any, y_pred: Any, labels: Any, weights: Any
) -> Path:
    """The confusion matrix normalized over true labels, as MLflow draws it."""
    from sklearn.metrics import confusion_matrix as matrix

    values = matrix(y_true, y_pred, labels=labels, normalize="true", sample_weight=weights)
    figure = _figure()
    ax = figure.add_subplot()
    ax.imshow(values, cmap="Blues", vmin=0, vmax=1)  # the cells carry their values
    ticks = range(len(labels))
    ax.set_xticks(ticks, [str(v) for v in labels])
    ax.set_yticks(ticks, [str(v) for v in labels])
    if len(labels) <= 20:
        for (i, j), v in np.ndenumerate(values):
            ax.text(
                j,
                i,
                f"{v:.2f}",
                ha="center",
                va="center",
                color="white" if v > 0.5 else "black",
                fontsize=8,
            )
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("True label")
    _title(ax, "Normalized confusion matrix")
    return _save(figure, folder / f"{name}.png")


def curves(
    folder: Path,
    y_true: Any,
    y_proba: np.ndarray,
    labels: Any,
    pos_index: int,
    weights: Any,
    prefix: str,
) -> dict[str, Path]:
    """ROC and precision-recall curves: the positive class, or one line per class."""
    from sklearn import metrics as sk

    classes = [pos_index] if len(labels) == 2 else range(len(labels))
    roc, pr = _figure(), _figure()
    roc_ax, pr_ax = roc.add_subplot(), pr.add_subplot()
    for c in classes:
        truth = np.asarray(y_true) == labels[c]
        fpr, tpr, _ = sk.roc_curve(truth, y_proba[:, c], sample_weight=weights)
        precision, recall, _ = sk.precision_recall_curve(
            truth, y_proba[:, c], sample_weight=weights
        )
        # the areas from the curves, as scikit-learn's roc_auc_score and
        # average_precision_score compute them, without validating the data twice more
        auc = float(sk.auc(fpr, tpr))
        ap = float(-np.sum(np.diff(recall) * precision[:-1]))
        precision, recall = precision[_thin(len(recall))], recall[_thin(len(recall))]
        tag = "" if len(labels) == 2 else f"label={labels[c]},"
        roc_ax.plot(fpr, tpr, drawstyle="steps-post", linewidth=1, label=f"{tag}AUC={auc:.3f}")
        pr_ax.plot(
            recall, precision, drawstyle="steps-post", linewidth=1, label=f"{tag}AP={ap:.3f}"
        )
    roc_ax.plot([0, 1], [0, 1], color="gray", alpha=0.3, linestyle="dashed")
    pr_ax.plot([0, 1], [1, 0], color="gray", alpha=0.3, linestyle="dashed")
    suffix = f" (Positive label: {labels[pos_index]})" if len(labels) == 2 else ""
    _labels(
        roc_ax,
        "ROC curve",
        f"False Positive Rate{suffix}",
        f"True Positive Rate{suffix}",
        "lower right",
    )
    _labels(pr_ax, "Precision recall curve", f"Recall{suffix}", f"Precision{suffix}", "lower left")
    return {
        f"{prefix}roc_curve_plot": _save(roc, folder / f"{prefix}roc_curve_plot.png"),
        f"{prefix}precision_recall_curve_plot": _save(
            pr, folder / f"{prefix}precision_recall_curve_plot.png"
        ),
    }


def calibration(
    folder: Path, name: str, y_true: Any, y_proba: np.ndarray, labels: Any, pos_index: int
) -> Path:
    """Reliability diagram: observed frequency against mean predicted probability."""
    from sklearn.calibration import calibration_curve

    figure = _figure()
    ax = figure.add_subplot()
    classes = [pos_index] if len(labels) == 2 else range(len(labels))
    for c in classes:
        observed, mean_predicted = calibration_curve(
            np.asarray(y_true) == labels[c], y_proba[:, c], n_bins=10, strategy="uniform"
        )
        ax.plot(mean_predicted, observed, marker="o", linewidth=1, label=f"label={labels[c]}")
    ax.plot([0, 1], [0, 1], color="gray", alpha=0.3, linestyle="dashed")
    _labels(
        ax, "Calibration curve", "Mean predicted probability", "Fraction of positives", "upper left"
    )
    return _save(figure, folder / f"{name}.png")


def regression_plots(
    folder: Path, y_true: np.ndarray, y_pred: np.ndarray, prefix: str
) -> dict[str, Path]:
    """Residuals against predictions, and predictions against actual values."""
    shown = _thin(len(y_true))
    residuals, versus = _figure(), _figure()
    ax = residuals.add_subplot()
    ax.scatter(y_pred[shown], (y_true - y_pred)[shown], s=4, alpha=0.5)
    ax.axhline(0, color="gray", alpha=0.5, linestyle="dashed")
    ax.set(xlabel="Predicted value", ylabel="Actual − predicted")
    _title(ax, "Residuals")
    ax = versus.add_subplot()
    ax.scatter(y_true[shown], y_pred[shown], s=4, alpha=0.5)
    low, high = float(np.min(y_true)), float(np.max(y_true))
    ax.plot([low, high], [low, high], color="gray", alpha=0.5, linestyle="dashed")
    ax.set(xlabel="Actual value", ylabel="Predicted value")
    _title(ax, "Predicted versus actual")
    return {
        f"{prefix}residuals_plot": _save(residuals, folder / f"{prefix}residuals_plot.png"),
        f"{prefix}predicted_vs_actual_plot": _save(
            versus, folder / f"{prefix}predicted_vs_actual_plot.png"
        ),
    }


def _thin(n: int, most: int = 5000) -> np.ndarray:
    """At most ``most`` evenly spaced rows: a scatter of 10,000 points says no more."""
    return np.linspace(0, n - 1, min(n, most)).astype(np.int64)


def _labels(ax: Any, title: str, xlabel: str, ylabel: str, corner: str) -> None:
    ax.set(xlabel=xlabel, ylabel=ylabel, xlim=(-0.02, 1.02), ylim=(-0.02, 1.02))
    ax.set(xticks=UNIT_TICKS, yticks=UNIT_TICKS)  # fixed: no tick locating per figure
    ax.grid(alpha=0.2)
    _title(ax, title)
    ax.legend(loc=corner, fontsize=7)  # "best" would test every point of every curve


def per_class_table(
    path: Path, y_true: Any, y_pred: Any, y_proba: np.ndarray | None, labels: Any, weights: Any
) -> Path:
    """One row per class, that class against the rest (MLflow's per_class_metrics columns)."""
    import pandas as pd
    from sklearn import metrics as sk

    w = np.ones(len(y_true)) if weights is None else np.asarray(weights, dtype=np.float64)
    rows = []
    for c, label in enumerate(labels):
        t, p = np.asarray(y_true) == label, np.asarray(y_pred) == label
        tp, fp, fn = np.sum(t & p), np.sum(~t & p), np.sum(t & ~p)
        wtp, wfp, wfn = np.sum(w * (t & p)), np.sum(w * (~t & p)), np.sum(w * (t & ~p))
        row: dict[str, Any] = {
            "positive_class": label,
            "true_negatives": int(len(t) - tp - fp - fn),
            "false_positives": int(fp),
            "false_negatives": int(fn),
            "true_positives": int(tp),
            "example_count": len(t),
            "accuracy_score": float(np.sum(w * (t == p)) / np.sum(w)),
            "recall_score": float(wtp / (wtp + wfn)) if wtp + wfn else 0.0,
            "precision_score": float(wtp / (wtp + wfp)) if wtp + wfp else 0.0,
            "f1_score": float(2 * wtp / (2 * wtp + wfp + wfn)) if wtp + wfp + wfn else 0.0,
        }
        if y_proba is not None and 0 < t.sum() < len(t):
            row["roc_auc"] = float(sk.roc_auc_score(t, y_proba[:, c], sample_weight=weights))
            row["precision_recall_auc"] = float(
                sk.average_precision_score(t, y_proba[:, c], sample_weight=weights)
            )
        rows.append(row)
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def permutation_importance(
    folder: Path,
    prefix: str,
    model_input: Any,
    names: list[str],
    y_true: np.ndarray,
    predict: Callable[[Any], Any],
    score: Callable[[Any, Any], float],
    nsamples: int,
    repeats: int,
    seed: int,
) -> dict[str, Path]:
    """scikit-learn's permutation importance: the drop in ``score`` when a column is shuffled."""
    import pandas as pd
    from sklearn.inspection import permutation_importance as importance

    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(y_true), size=min(nsamples, len(y_true)), replace=False))
    x = model_input.iloc[rows] if hasattr(model_input, "iloc") else model_input[rows]
    found = importance(
        _Fitted(predict),
        x,
        y_true[rows],
        scoring=lambda est, xs, ys: score(ys, est.predict(xs)),
        n_repeats=repeats,
        random_state=seed,
    )
    table = pd.DataFrame(
        {
            "feature": names,
            "importance_mean": found.importances_mean,
            "importance_std": found.importances_std,
        }
    ).sort_values("importance_mean", ascending=False)
    csv = folder / f"{prefix}permutation_importance.csv"
    table.to_csv(csv, index=False)
    top = table.head(20).iloc[::-1]
    figure = _figure()
    figure.subplots_adjust(left=0.32)  # room for the feature names
    ax = figure.add_subplot()
    ax.barh(top["feature"], top["importance_mean"], xerr=top["importance_std"], color="#4c78a8")
    ax.set(xlabel="Mean drop in score when shuffled")
    _title(ax, "Permutation importance")
    ax.tick_params(axis="y", labelsize=7)
    png = _save(figure, folder / f"{prefix}permutation_importance_plot.png")
    return {f"{prefix}permutation_importance": csv, f"{prefix}permutation_importance_plot": png}


class _Fitted:
    """A fitted stand-in for any predict function (permutation importance needs ``fit``)."""

    def __init__(self, predict: Callable[[Any], Any]):
        self.predict = predict

    def fit(self, *args: Any) -> _Fitted:
        return self


def summary_json(path: Path, rows: list[dict[str, Any]], level: float) -> Path:
    """Each metric with its interval, baseline and paired difference, as JSON."""

    def clean(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    body = {
        "confidence_level": level,
        "metrics": [{k: clean(v) for k, v in row.items()} for row in rows],
    }
    path.write_text(json.dumps(body, indent=1))
    return path
