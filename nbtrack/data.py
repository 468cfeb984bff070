"""Datasets as runs record them (``log_input``): name, digest, source, schema, row count.

Mirrors ``mlflow.data``: ``from_pandas`` and ``from_numpy`` build a dataset that
``nbtrack.log_input`` attaches to the active run; model cards read them back.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from nbtrack import context, entities, tag_keys
from nbtrack.errors import InvalidParameter
from nbtrack.types import infer_schema

DEFAULT_NAME = "dataset"
_DIGEST_ROWS = 10_000  # MLflow also hashes only the first rows of large data


@dataclass(frozen=True)
class Dataset:
    """A dataset's identity (name + digest), origin and shape."""

    name: str
    digest: str
    source: str
    source_type: str
    schema: dict[str, Any] | None
    profile: dict[str, Any]
    targets: str | None = None
    # the rows themselves, kept in memory (never stored) so that ``nbtrack.evaluate`` can
    # take the dataset as its ``data``: a DataFrame, or (features, targets) arrays
    data: Any = field(default=None, repr=False, compare=False)

    @property
    def df(self) -> Any:
        """The DataFrame a ``from_pandas`` dataset was built from (None otherwise)."""
        return None if isinstance(self.data, tuple) else self.data

    def to_entity(self) -> entities.Dataset:
        """The stored form: schema and profile as JSON strings."""
        return entities.Dataset(
            name=self.name,
            digest=self.digest,
            source_type=self.source_type,
            source=self.source,
            schema=json.dumps(self.schema) if self.schema is not None else None,
            profile=json.dumps(self.profile),
        )


def _source(source: str | None) -> tuple[str, str]:
    if source is None:
        name, _ = context.source()
        return json.dumps({"tags": {tag_keys.SOURCE_NAME: name}}), "code"
    kind = source.split("://")[0] if "://" in source else "local"
    return json.dumps({"uri": source}), kind


def _digest(*arrays: Any) -> str:
    md5 = hashlib.md5(usedforsecurity=False)
    for array in arrays:
        md5.update(array[:_DIGEST_ROWS].tobytes() if hasattr(array, "tobytes") else array)
    return md5.hexdigest()[:8]


def from_pandas(
    df: Any,
    source: str | None = None,
    targets: str | None = None,
    name: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A dataset from a DataFrame; ``targets`` names the label column, if any."""
    from pandas.util import hash_pandas_object

    if targets is not None and targets not in df.columns:
        raise InvalidParameter(
            f"targets column {targets!r} is not in the DataFrame (columns: {list(df.columns)})"
        )
    features = df.drop(columns=[targets]) if targets else df
    hashed = hash_pandas_object(df.head(_DIGEST_ROWS), index=False).to_numpy()
    src, kind = _source(source)
    return Dataset(
        name=name or DEFAULT_NAME,
        digest=digest or _digest(hashed, str(list(df.columns)).encode()),
        source=src,
        source_type=kind,
        schema={"mlflow_colspec": infer_schema(features).to_dict()},
        profile={"num_rows": len(df), "num_elements": int(df.size)},
        targets=targets,
        data=df,
    )


def from_numpy(
    features: Any,
    source: str | None = None,
    targets: Any = None,
    name: str | None = None,
    digest: str | None = None,
) -> Dataset:
    """A dataset from a feature array (and optional target array)."""
    import numpy as np

    x = np.asarray(features)
    # only the hashed rows are made contiguous: a strided view of big data is not copied whole
    arrays = [np.ascontiguousarray(x[:_DIGEST_ROWS] if x.ndim else x)]
    if targets is not None:
        y = np.asarray(targets)
        arrays.append(np.ascontiguousarray(y[:_DIGEST_ROWS] if y.ndim else y))
    src, kind = _source(source)
    return Dataset(
        name=name or DEFAULT_NAME,
        digest=digest or _digest(*arrays),
        source=src,
        source_type=kind,
        schema={"mlflow_tensorspec": {"features": json.dumps(infer_schema(x).to_dict())}},
        profile={
            "num_rows": int(x.shape[0]) if x.ndim else 1,
            "num_elements": int(x.size),
            "features_shape": list(x.shape),
        },
        targets="targets" if targets is not None else None,
        data=(features, targets),
    )
