"""The main job on the embedded default store: an ElasticNet sweep on the diabetes data.

Runs from `make demo`. Every run lands in ./nbtrack.db (artifacts in ./nbtrack-artifacts/);
afterwards the sweep is listed with the `nbtrack` command line, best run first.
"""

from __future__ import annotations

import subprocess
import sys

from sklearn.datasets import load_diabetes
from sklearn.linear_model import ElasticNet
from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score
from sklearn.model_selection import train_test_split

import nbtrack

ALPHAS = (0.001, 0.01, 0.1, 1.0)
L1_RATIOS = (0.1, 0.5, 0.9)


def main() -> None:
    """Train one ElasticNet per (alpha, l1_ratio) as child runs of one sweep run."""
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    nbtrack.set_experiment("diabetes-demo")
    with nbtrack.start_run(run_name="elasticnet-sweep") as sweep:
        nbtrack.log_input(
            nbtrack.data.from_pandas(
                X_train.assign(target=y_train), name="diabetes-train", targets="target"
            )
        )
        for alpha in ALPHAS:
            for l1_ratio in L1_RATIOS:
                with nbtrack.start_run(run_name=f"a={alpha} l1={l1_ratio}", nested=True):
                    model = ElasticNet(alpha=alpha, l1_ratio=l1_ratio, random_state=0)
                    model.fit(X_train, y_train)
                    pred = model.predict(X_test)
                    nbtrack.log_params({"alpha": alpha, "l1_ratio": l1_ratio})
                    nbtrack.log_metrics(
                        {
                            "rmse": mean_squared_error(y_test, pred) ** 0.5,
                            "mae": mean_absolute_error(y_test, pred),
                            "r2": r2_score(y_test, pred),
                        }
                    )
    print(
        f"Sweep {sweep.info.run_id}: {len(ALPHAS) * len(L1_RATIOS)} child runs in "
        f"{nbtrack.get_tracking_uri()}\n"
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "nbtrack",
            "runs",
            "list",
            "--experiment",
            "diabetes-demo",
            "--order-by",
            "metrics.rmse ASC",
            "--max-results",
            "5",
        ],
        check=True,
    )


if __name__ == "__main__":
    main()
