"""What the benchmark must show, per measurement (the issues' targets).

Each target is (kind, number):
- ("ratio", n): MLflow's time divided by nbtrack's is at least n (or nbtrack's rate divided
  by MLflow's, for rates);
- ("max", x): nbtrack's figure is at most x (seconds, or bytes);
- ("min", x): nbtrack's rate is at least x;
- ("no-slower", 1): nbtrack's time is at most MLflow's.
"""

from __future__ import annotations

TARGETS: dict[str, list[tuple[str, float]]] = {
    "import_s": [("ratio", 10)],
    "start_run_10_params_end_run_s": [("ratio", 30)],
    "log_metric_s": [("ratio", 50), ("max", 100e-6)],
    "log_batch_points_per_s": [("min", 500_000)],
    "search_1000_runs_s": [],
    "search_10000_runs_s": [("max", 0.100)],
    "store_10000_runs_bytes": [("max", 20 * 1024 * 1024)],
    "log_model_s": [("max", 0.100)],
    "load_model_s": [("no-slower", 1)],
    "predict_overhead_s": [("max", 200e-6)],
    "autolog_logreg_added_s": [("max", 0.010)],
    "autolog_grid_search_added_s": [("max", 0.060)],
    "autolog_grid_search_models_added_s": [("max", 0.250)],
    "panels_first_render_s": [("max", 1.0)],
    "panels_filter_s": [("max", 0.300)],
    "sync_push_1000_runs_s": [("max", 60.0)],
    "sync_repush_nothing_new_s": [("max", 5.0)],
    "sync_pull_1000_runs_s": [("max", 30.0)],
}
