"""Bootstrap confidence intervals and paired comparisons, vectorised with numpy.

A resample of ``n`` rows drawn with replacement is the same as the original rows weighted
by how many times each was drawn, so every default metric of every resample comes from a
few matrix products of a (rows × resamples) count matrix with per-row vectors: no Python
loop over resamples, no re-fitting, no call into scikit-learn per resample. Ranking
metrics (``roc_auc``, ``precision_recall_auc``) sort positives and negatives once; per
resample, cumulative sums of their weights answer every ranking question, ties included.
Counts are drawn in fixed blocks from numpy's SFC64 generator seeded with ``seed``, so the
same ``seed`` and row count always give the same resamples: a candidate and its baseline
evaluated on the same data are compared resample by resample (a paired bootstrap).

Intervals are percentile intervals at ``confidence_level`` (default 0.95); a resample where
a metric is undefined (a class absent from it) is left out of that metric's interval.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

BLOCK = 100  # resamples per count matrix: 10,000 rows × 100 is 4 MB


@dataclass(frozen=True)
class Resampling:
    """Which resamples: their number, the seed and the number of rows they draw from."""

    count: int
    seed: int
    rows: int

    def blocks(self) -> Iterator[np.ndarray]:
        """Count matrices, rows × block (float32: counts are small whole numbers, exact).

        Column ``r`` counts how often each row was drawn in resample ``r``; rows are the
        first axis so that gathering rows (sorting by score) copies contiguous memory.
        """
        rng = np.random.Generator(np.random.SFC64(self.seed))  # a third faster than PCG64
        n = self.rows
        done = 0
        while done < self.count:
            b = min(BLOCK, self.count - done)
            draws = rng.integers(0, n, size=(b, n), dtype=_index_type(n))
            counts = np.empty((b, n), dtype=np.float32)
            for row, drawn in zip(counts, draws, strict=True):  # row by row: 4× faster
                row[:] = np.bincount(drawn, minlength=n)
            yield np.ascontiguousarray(counts.T)
            done += b

    def indices(self) -> Iterator[np.ndarray]:
        """Each resample as row indices (for user-defined metrics)."""
        rows = np.arange(self.rows)
        for block in self.blocks():
            for counts in block.T:
                yield np.repeat(rows, counts.astype(np.int64))


def _index_type(n: int) -> type[np.integer]:
    """The smallest index type for ``n`` rows: fewer random bytes to draw."""
    return np.uint16 if n <= 2**16 else np.uint32 if n <= 2**32 else np.uint64


def resampled(
    resampling: Resampling, per_block: Callable[[np.ndarray], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Run ``per_block`` on every count block; concatenate each metric's values."""
    from threadpoolctl import threadpool_limits  # a scikit-learn dependency

    parts: dict[str, list[np.ndarray]] = {}
    # these products are thin (a few columns): one BLAS thread does them fastest, and a
    # multi-threaded BLAS on a busy machine can be a hundred times slower
    with threadpool_limits(limits=1, user_api="blas"):
        for counts in resampling.blocks():
            for name, values in per_block(counts).items():
                parts.setdefault(name, []).append(values)
    return {name: np.concatenate(values) for name, values in parts.items()}


def interval(values: np.ndarray, level: float) -> tuple[float, float]:
    """The percentile interval of the defined values (NaN, NaN when none is)."""
    finite = values[~np.isnan(values)]
    if finite.size == 0:
        return float("nan"), float("nan")
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def p_value_of_improvement(
    differences: np.ndarray, greater_is_better: bool, margin: float = 0.0
) -> float:
    """One-sided bootstrap p-value that the candidate is not better by more than ``margin``.

    ``differences`` are candidate minus baseline per resample; the p-value is the share of
    resamples (plus one, over resamples plus one) where the improvement is at most ``margin``.
    """
    finite = differences[~np.isnan(differences)]
    improvement = finite if greater_is_better else -finite
    return float((np.sum(improvement <= margin) + 1) / (finite.size + 1))


# -- classifiers ----------------------------------------------------------------------------


def classifier_block(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    y_proba: np.ndarray | None,
    labels: np.ndarray,
    pos_index: int,
    average: str,
    weights: np.ndarray | None,
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The per-block computation of the classifier metrics (MLflow's definitions).

    ``pos_index`` is the positive label's place among the sorted labels, which is also its
    column in ``y_proba``.
    """
    labels = np.sort(labels)
    binary = len(labels) == 2
    truth = np.stack([y_true == c for c in labels], axis=1).astype(np.float64)
    predicted = np.stack([y_pred == c for c in labels], axis=1).astype(np.float64)
    row_loss = _log_loss_rows(truth, y_proba) if y_proba is not None else None
    columns = [truth, predicted, truth * predicted, (y_true == y_pred)[:, None].astype(float)]
    if row_loss is not None:
        columns.append(row_loss[:, None])
    dtype = np.float64 if weights is not None else np.float32  # float32 halves memory traffic
    table = np.hstack(columns).astype(dtype)
    k = len(labels)
    rankers = []
    if y_proba is not None:
        classes = [pos_index] if binary else range(k)
        rankers = [_Ranker(y_proba[:, c], truth[:, c].astype(dtype)) for c in classes]

    def per_block(counts: np.ndarray) -> dict[str, np.ndarray]:
        w = counts * weights[:, None] if weights is not None else counts
        sums = (table.T @ w).T
        total = w.sum(axis=0)
        true_c, pred_c, tp_c = sums[:, :k], sums[:, k : 2 * k], sums[:, 2 * k : 3 * k]
        out = {"accuracy_score": sums[:, 3 * k] / total}
        if row_loss is not None:
            out["log_loss"] = sums[:, 3 * k + 1] / total
        if binary:
            out.update(_binary_counts(counts, table, k, pos_index))
            out.update(_binary_scores(true_c, pred_c, tp_c, pos_index))
            if rankers:
                auc, ap = rankers[0].auc_and_ap(w)
                out["roc_auc"], out["precision_recall_auc"] = auc, ap
        else:
            out.update(_averaged_scores(true_c, pred_c, tp_c, average, out["accuracy_score"]))
            if rankers and average in ("macro", "weighted"):
                aucs = np.stack([r.auc_and_ap(w)[0] for r in rankers], axis=1)
                share = (
                    true_c / total[:, None] if average == "weighted" else np.full_like(aucs, 1 / k)
                )
                out["roc_auc"] = np.sum(aucs * share, axis=1)
        return {name: values.astype(np.float64) for name, values in out.items()}

    return per_block


def _log_loss_rows(truth: np.ndarray, y_proba: np.ndarray) -> np.ndarray:
    eps = np.finfo(y_proba.dtype).eps
    return -np.sum(truth * np.log(np.clip(y_proba, eps, 1 - eps)), axis=1)


def _binary_counts(
    counts: np.ndarray, table: np.ndarray, k: int, pos: int
) -> dict[str, np.ndarray]:
    """Confusion counts: unweighted by sample weights, as MLflow computes them."""
    sums = (table[:, : 3 * k].T @ counts).T
    true_pos, pred_pos, tp = sums[:, pos], sums[:, k + pos], sums[:, 2 * k + pos]
    n = counts.sum(axis=0)
    return {
        "true_positives": tp,
        "false_positives": pred_pos - tp,
        "false_negatives": true_pos - tp,
        "true_negatives": n - true_pos - pred_pos + tp,
    }


def _ratio(top: np.ndarray, bottom: np.ndarray) -> np.ndarray:
    """``top / bottom``, 0 where ``bottom`` is 0 (scikit-learn's ``zero_division`` default)."""
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)


def _binary_scores(
    true_c: np.ndarray, pred_c: np.ndarray, tp_c: np.ndarray, pos: int
) -> dict[str, np.ndarray]:
    tp, t, p = tp_c[:, pos], true_c[:, pos], pred_c[:, pos]
    return {
        "recall_score": _ratio(tp, t),
        "precision_score": _ratio(tp, p),
        "f1_score": _ratio(2 * tp, t + p),
    }


def _averaged_scores(
    true_c: np.ndarray, pred_c: np.ndarray, tp_c: np.ndarray, average: str, accuracy: np.ndarray
) -> dict[str, np.ndarray]:
    if average == "micro":  # single-label multiclass: micro averages are the accuracy
        return {"recall_score": accuracy, "precision_score": accuracy, "f1_score": accuracy}
    per_class = {
        "recall_score": _ratio(tp_c, true_c),
        "precision_score": _ratio(tp_c, pred_c),
        "f1_score": _ratio(2 * tp_c, true_c + pred_c),
    }
    if average == "weighted":
        share = _ratio(true_c, true_c.sum(axis=1, keepdims=True))
    else:  # macro, over the labels present in the resample's truth or predictions
        present = ((true_c + pred_c) > 0).astype(np.float64)
        share = present / present.sum(axis=1, keepdims=True)
    return {name: np.sum(values * share, axis=1) for name, values in per_class.items()}


class _Ranker:
    """ROC AUC and average precision of one score column under row weights, ties included.

    Positives and negatives are each sorted by descending score once; per resample, one
    cumulative sum of each side's weights answers every "how much positive (negative)
    weight scores at least this high" question by a precomputed column index.
    """

    def __init__(self, scores: np.ndarray, positive: np.ndarray):
        is_pos = positive > 0
        self.pos = np.flatnonzero(is_pos)[np.argsort(-scores[is_pos], kind="mergesort")]
        self.neg = np.flatnonzero(~is_pos)[np.argsort(-scores[~is_pos], kind="mergesort")]
        pos_up, neg_up = np.sort(scores[self.pos]), np.sort(scores[self.neg])

        def at_least(ascending: np.ndarray, s: np.ndarray) -> np.ndarray:
            return len(ascending) - np.searchsorted(ascending, s, side="left")

        def above(ascending: np.ndarray, s: np.ndarray) -> np.ndarray:
            return len(ascending) - np.searchsorted(ascending, s, side="right")

        neg_scores, pos_scores = scores[self.neg], scores[self.pos]
        # rows of the cumulative sums; without ties, slices and one gather instead of three
        self.pos_above_neg = above(pos_up, neg_scores)
        tied = at_least(pos_up, neg_scores)
        self.pos_tied_neg = None if np.array_equal(tied, self.pos_above_neg) else tied
        at_pos = at_least(pos_up, pos_scores)
        own = np.arange(1, len(at_pos) + 1)
        self.pos_at_pos: Any = slice(1, None) if np.array_equal(at_pos, own) else at_pos
        self.neg_at_pos = at_least(neg_up, pos_scores)

    def auc_and_ap(self, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        pos_w, neg_w = weights[self.pos], weights[self.neg]  # rows × resamples
        pos_cum = _cumsum_from_zero(pos_w)
        neg_cum = _cumsum_from_zero(neg_w)
        pos_total, neg_total = pos_cum[-1], neg_cum[-1]
        # a negative counts the positives above it, and half of those tied with it
        above = pos_cum[self.pos_above_neg]
        ranked = 2 * above if self.pos_tied_neg is None else above + pos_cum[self.pos_tied_neg]
        tps = pos_cum[self.pos_at_pos]
        precision = _ratio(tps, tps + neg_cum[self.neg_at_pos])
        with np.errstate(invalid="ignore", divide="ignore"):
            auc = 0.5 * np.sum(neg_w * ranked, axis=0) / (pos_total * neg_total)
            ap = np.sum(pos_w * precision, axis=0) / pos_total
        auc[(pos_total == 0) | (neg_total == 0)] = np.nan
        ap[pos_total == 0] = np.nan
        return auc, ap


def _cumsum_from_zero(values: np.ndarray) -> np.ndarray:
    """Cumulative sums down the rows with a leading zero row (index = how many summed)."""
    out = np.zeros((values.shape[0] + 1, values.shape[1]), dtype=values.dtype)
    np.cumsum(values, axis=0, out=out[1:])
    return out


# -- regressors -------------------------------------------------------------------------------


def regressor_block(
    y_true: np.ndarray, y_pred: np.ndarray, weights: np.ndarray | None
) -> Callable[[np.ndarray], dict[str, np.ndarray]]:
    """The per-block computation of the regressor metrics (MLflow's definitions)."""
    error = np.abs(y_pred - y_true)
    centered = y_true - y_true.mean()  # r2's denominator without cancellation
    relative = error / np.maximum(np.abs(y_true), np.finfo(np.float64).eps)
    table = np.stack([error, error**2, y_true, centered, centered**2, relative], axis=1)
    if weights is None:
        table = table.astype(np.float32)  # counts are float32; half the memory traffic
    by_error = np.argsort(-error, kind="mergesort")
    n = len(y_true)

    def per_block(counts: np.ndarray) -> dict[str, np.ndarray]:
        w = counts * weights[:, None] if weights is not None else counts
        total = w.sum(axis=0)
        mae, mse, s_y, s_c, s_c2, mape = table.T @ w
        ss_tot = s_c2 - s_c**2 / total
        drawn = counts[by_error] > 0  # the largest error among the rows drawn
        max_error = error[by_error][np.argmax(drawn, axis=0)]
        with np.errstate(invalid="ignore", divide="ignore"):
            r2 = 1 - mse / ss_tot
        r2[ss_tot <= 0] = np.nan
        out = {
            "mean_absolute_error": mae / total,
            "mean_squared_error": mse / total,
            "root_mean_squared_error": np.sqrt(mse / total),
            "sum_on_target": s_y,
            "mean_on_target": s_y / n,
            "r2_score": r2,
            "max_error": max_error,
            "mean_absolute_percentage_error": mape / total,
        }
        return {name: np.asarray(values, dtype=np.float64) for name, values in out.items()}

    return per_block


def resampled_extra(
    resampling: Resampling, evaluate_rows: Callable[[np.ndarray], dict[str, float]]
) -> dict[str, np.ndarray]:
    """User-defined metrics on every resample: one call of their functions per resample."""
    values: dict[str, list[float]] = {}
    for rows in resampling.indices():
        for name, value in evaluate_rows(rows).items():
            values.setdefault(name, []).append(value)
    return {name: np.asarray(v, dtype=np.float64) for name, v in values.items()}


def summarize(values: dict[str, np.ndarray], level: float) -> dict[str, tuple[float, float]]:
    """Each metric's percentile interval."""
    return {name: interval(v, level) for name, v in values.items()}
