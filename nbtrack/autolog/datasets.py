"""The data a fit or a prediction used, recorded as a dataset input of a run (MLflow's way)."""

from __future__ import annotations

import logging
from typing import Any

from nbtrack import data, session, tag_keys
from nbtrack.entities import DatasetInput, InputTag

_logger = logging.getLogger("nbtrack.autolog")


def dataset_input(X: Any, y: Any, context: str) -> DatasetInput | None:
    """A DataFrame or array (with its targets) as a dataset input; None for other types.

    Like MLflow, pandas frames and numpy arrays are recorded; lists, sparse matrices and
    other containers are skipped (a sparse matrix would have to be densified to be hashed).
    """
    import numpy as np
    import pandas as pd

    if isinstance(X, pd.DataFrame):
        dataset = data.from_pandas(X)
    elif isinstance(X, np.ndarray):
        targets = np.asarray(y) if y is not None else None
        dataset = data.from_numpy(X, targets=targets)
    else:
        _logger.info("nbtrack: a %s is not recorded as a dataset input", type(X).__name__)
        return None
    return DatasetInput(dataset.to_entity(), [InputTag(tag_keys.DATASET_CONTEXT, context)])


def log_dataset(run_id: str, X: Any, y: Any, context: str) -> None:
    """Record the data as an input of the run, if it is of a type that can be recorded."""
    item = dataset_input(X, y, context)
    if item is not None:
        session.client().log_inputs(run_id, [item])
