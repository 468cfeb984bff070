"""The vectorised bootstrap computes, for each resample, what scikit-learn computes on its rows."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from nbtrack.evaluation import bootstrap
from nbtrack.evaluation.metrics import classifier_metrics, regressor_metrics


def _resamples(n: int, count: int = 6, seed: int = 3):
    resampling = bootstrap.Resampling(count, seed, n)
    return resampling, list(resampling.indices())


def _classifier_case(kind: str, ties: bool):
    rng = np.random.default_rng(1)
    n = 300
    if kind == "binary":
        y = rng.integers(0, 2, n)
        p = np.clip(0.35 * y + 0.65 * rng.random(n), 0, 1)
        if ties:
            p = np.round(p, 1)  # a tree-like model: few distinct probabilities
        proba = np.stack([1 - p, p], axis=1)
        pred = (p > 0.5).astype(int)
        labels = np.array([0, 1])
    else:
        y = rng.integers(0, 3, n)
        raw = rng.random((n, 3)) + np.eye(3)[y] * 0.8
        if ties:
            raw = np.round(raw, 1)
        proba = raw / raw.sum(axis=1, keepdims=True)
        pred = proba.argmax(axis=1)
        labels = np.array([0, 1, 2])
    return y, pred, proba, labels


@pytest.mark.parametrize(
    ("kind", "ties", "average", "weighted"),
    [
        ("binary", False, "binary", False),  # distinct scores
        ("binary", True, "binary", False),  # tied scores: ROC AUC and AP handle ties
        ("binary", False, "binary", True),  # sample weights
        ("multiclass", False, "weighted", False),  # MLflow's default average
        ("multiclass", True, "macro", False),
        ("multiclass", False, "micro", True),
    ],
)
def test_classifier_resamples_match_sklearn_on_the_drawn_rows(kind, ties, average, weighted):
    y, pred, proba, labels = _classifier_case(kind, ties)
    weights = np.linspace(0.5, 2.0, len(y)) if weighted else None
    resampling, rows = _resamples(len(y))
    block = bootstrap.classifier_block(y, pred, proba, labels, 1, average, weights)
    values = bootstrap.resampled(resampling, block)
    for r, idx in enumerate(rows):
        expected = classifier_metrics(
            y[idx], pred[idx], proba[idx], labels, 1 if kind == "binary" else None, 1,
            average, None if weights is None else weights[idx],
        )  # fmt: skip
        for name, value in expected.items():
            if name == "example_count":
                continue
            assert values[name][r] == pytest.approx(value, rel=2e-5, abs=1e-6), (name, r)


@pytest.mark.parametrize("weighted", [False, True])
def test_regressor_resamples_match_sklearn_on_the_drawn_rows(weighted):
    rng = np.random.default_rng(2)
    y = rng.normal(100, 20, 400)
    pred = y + rng.normal(0, 5, 400)
    weights = np.linspace(1, 3, 400) if weighted else None
    resampling, rows = _resamples(len(y))
    values = bootstrap.resampled(resampling, bootstrap.regressor_block(y, pred, weights))
    for r, idx in enumerate(rows):
        expected = regressor_metrics(y[idx], pred[idx], None if weights is None else weights[idx])
        for name, value in expected.items():
            if name == "example_count":
                continue
            assert values[name][r] == pytest.approx(value, rel=2e-5), (name, r)


def test_resamples_are_seeded_and_paired():
    first = [c.copy() for c in bootstrap.Resampling(250, 7, 50).blocks()]
    again = list(bootstrap.Resampling(250, 7, 50).blocks())
    other = list(bootstrap.Resampling(250, 8, 50).blocks())
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    assert sum(block.shape[1] for block in first) == 250
    assert all((block.sum(axis=0) == 50).all() for block in first)  # n draws per resample


def test_interval_and_p_value():
    values = np.r_[np.arange(1000, dtype=float), np.nan]
    low, high = bootstrap.interval(values, 0.9)
    assert (low, high) == pytest.approx((49.95, 949.05))
    assert bootstrap.p_value_of_improvement(np.full(99, 0.1), True) == pytest.approx(0.01)
    assert bootstrap.p_value_of_improvement(np.full(99, 0.1), False) == 1.0
    assert bootstrap.p_value_of_improvement(np.full(99, 0.1), True, margin=0.2) == 1.0


def test_sklearn_agrees_with_itself_on_the_full_data():
    """The point estimates: a resample drawing each row once gives the plain metrics."""
    y, pred, proba, labels = _classifier_case("binary", True)
    block = bootstrap.classifier_block(y, pred, proba, labels, 1, "binary", None)
    values = block(np.ones((len(y), 1), dtype=np.float32))
    assert values["roc_auc"][0] == pytest.approx(sk.roc_auc_score(y, proba[:, 1]), rel=1e-6)
    assert values["precision_recall_auc"][0] == pytest.approx(
        sk.average_precision_score(y, proba[:, 1]), rel=1e-6
    )
