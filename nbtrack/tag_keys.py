"""The tag keys nbtrack reads and writes: MLflow's system tags, and nbtrack's own.

One home for every key, so a run logged here reads the same in MLflow and every module
(tracking, autolog, panels, cards, CLI) agrees on the spelling.
"""

from __future__ import annotations

# -- MLflow's run tags ------------------------------------------------------------------
PARENT_RUN_ID = "mlflow.parentRunId"
RUN_NAME = "mlflow.runName"
RUN_TYPE = "mlflow.runType"
USER = "mlflow.user"
NOTE = "mlflow.note.content"
SOURCE_NAME = "mlflow.source.name"
SOURCE_TYPE = "mlflow.source.type"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_BRANCH = "mlflow.source.git.branch"
AUTOLOGGING = "mlflow.autologging"
LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"
LOGGED_MODELS = "mlflow.log-model.history"
LOGGED_IMAGES = "mlflow.loggedImages"  # images logged by key and step (MLflow's image charts)

# -- MLflow's dataset input tags --------------------------------------------------------
DATASET_CONTEXT = "mlflow.data.context"

# -- nbtrack's own run tags -------------------------------------------------------------
PYTHON_VERSION = "nbtrack.python.version"
NOTEBOOK_PATH = "nbtrack.notebook.path"
CELL_EXECUTION_COUNT = "nbtrack.cell.execution_count"
EVALUATED_MODEL_URI = "nbtrack.evaluation.model_uri"

# Tags under these prefixes are bookkeeping, not the user's: panels list them apart.
SYSTEM_PREFIXES = ("mlflow.", "nbtrack.")
