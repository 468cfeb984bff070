"""scikit-learn's metric values for plain 1-D targets, without its per-call validation.

scikit-learn's metric functions validate and re-encode their inputs on every call, which
costs milliseconds each (more than a small fit). For the common case (1-D numeric or
string labels, 1-D numeric targets, optional 1-D sample weights) these compute the same
numbers from the predictions directly, following scikit-learn's definitions: weighted
averages over ``unique_labels``, zero division counted as 0, log loss on probabilities
clipped to ``[eps, 1 - eps]``, ROC AUC as the trapezoid under the ROC curve. Each function
returns None when its inputs are outside that case; the caller then asks scikit-learn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # numpy is imported where a score is computed: not at import nbtrack.sklearn
    import numpy as np


def _weights(sample_weight: Any, n: int) -> np.ndarray | None:
    import numpy as np

    if sample_weight is None:
        return np.ones(n)
    w = np.asarray(sample_weight)
    if w.ndim != 1 or len(w) != n or w.dtype.kind not in "biuf":
        return None
    return w.astype(float, copy=False)


def _labels(y_true: Any, y_pred: Any) -> tuple[np.ndarray, np.ndarray] | None:
    import numpy as np

    y = np.asarray(y_true)
    p = np.asarray(y_pred)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p) or len(y) == 0:
        return None
    if y.dtype.kind != p.dtype.kind or y.dtype.kind not in "biuU":
        return None
    return y, p


def classification(y_true: Any, y_pred: Any, sample_weight: Any) -> dict[str, float] | None:
    """Weighted precision, recall, F1 and accuracy.

    The values ``precision_recall_fscore_support(average="weighted")`` and
    ``accuracy_score`` give.
    """
    import numpy as np

    pair = _labels(y_true, y_pred)
    if pair is None:
        return None
    y, p = pair
    n = len(y)
    w = _weights(sample_weight, n)
    if w is None:
        return None
    classes, codes = np.unique(np.concatenate([y, p]), return_inverse=True)
    yi, pi = codes[:n], codes[n:]
    k = len(classes)
    hit = yi == pi
    true_sum = np.bincount(yi, weights=w, minlength=k)
    pred_sum = np.bincount(pi, weights=w, minlength=k)
    tp_sum = np.bincount(yi[hit], weights=w[hit], minlength=k)
    support = true_sum.sum()
    if support == 0:
        return None
    precision = np.divide(tp_sum, pred_sum, out=np.zeros(k), where=pred_sum != 0)
    recall = np.divide(tp_sum, true_sum, out=np.zeros(k), where=true_sum != 0)
    both = true_sum + pred_sum
    f1 = np.divide(2 * tp_sum, both, out=np.zeros(k), where=both != 0)
    return {
        "precision_score": float(np.dot(precision, true_sum) / support),
        "recall_score": float(np.dot(recall, true_sum) / support),
        "f1_score": float(np.dot(f1, true_sum) / support),
        "accuracy_score": float(np.average(hit, weights=w)),
    }


def log_loss(y_true: Any, proba: Any, sample_weight: Any) -> float | None:
    """``log_loss(y_true, proba)`` when ``proba`` has one column per class of ``y_true``."""
    import numpy as np

    y = np.asarray(y_true)
    prob = np.asarray(proba)
    if y.ndim != 1 or prob.ndim != 2 or len(y) != len(prob) or y.dtype.kind not in "biuU":
        return None
    w = _weights(sample_weight, len(y))
    classes = np.unique(y)
    if w is None or len(classes) < 2 or prob.shape[1] != len(classes) or prob.dtype.kind != "f":
        return None
    if prob.max() > 1 or prob.min() < 0:
        return None
    eps = np.finfo(prob.dtype).eps
    picked = prob[np.arange(len(y)), np.searchsorted(classes, y)]
    return float(np.average(-np.log(np.clip(picked, eps, 1 - eps)), weights=w))


def binary_roc_auc(y_true: Any, score: Any, sample_weight: Any) -> float | None:
    """``roc_auc_score`` of a binary target, the greater label being positive."""
    import numpy as np

    y = np.asarray(y_true)
    s = np.asarray(score)
    if y.ndim != 1 or s.ndim != 1 or len(y) != len(s) or y.dtype.kind not in "biuU":
        return None
    w = _weights(sample_weight, len(y))
    classes = np.unique(y)
    if w is None or len(classes) != 2 or s.dtype.kind not in "biuf":
        return None
    order = np.argsort(s, kind="mergesort")[::-1]
    s, positive, w = s[order], (y == classes[1])[order], w[order]
    last = np.r_[np.flatnonzero(np.diff(s)), len(s) - 1]
    tps = np.r_[0.0, np.cumsum(w * positive)[last]]
    fps = np.r_[0.0, np.cumsum(w * ~positive)[last]]
    if tps[-1] <= 0 or fps[-1] <= 0:
        return None
    tpr, fpr = tps / tps[-1], fps / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2))


def regression(y_true: Any, y_pred: Any, sample_weight: Any) -> dict[str, float] | None:
    """MSE, MAE and R² of a 1-D target, as scikit-learn computes them."""
    import numpy as np

    y = np.asarray(y_true)
    p = np.asarray(y_pred)
    if y.ndim != 1 or p.ndim != 1 or len(y) != len(p) or len(y) == 0:
        return None
    if y.dtype.kind not in "biuf" or p.dtype.kind not in "biuf":
        return None
    w = _weights(sample_weight, len(y))
    if w is None:
        return None
    error = y - p
    numerator = float(np.dot(w, error * error))
    centered = y - np.average(y, weights=w)
    denominator = float(np.dot(w, centered * centered))
    # scikit-learn's force_finite: a constant target scores 1 if predicted exactly, else 0
    r2 = 1 - numerator / denominator if denominator else float(numerator == 0)
    return {
        "mean_squared_error": float(np.average(error * error, weights=w)),
        "mean_absolute_error": float(np.average(np.abs(error), weights=w)),
        "r2_score": r2,
    }
