"""Teams: move runs, artifacts, models and the registry to and from MLflow.

- :func:`push` sends local runs to an MLflow tracking server (``nbtrack sync push``),
- :func:`pull` brings a server's runs into the local store (``nbtrack sync pull``),
- :func:`import_store` reads a local MLflow store, an ``mlflow.db`` file or an ``mlruns/``
  folder (``nbtrack import``).

All three are re-runnable: the store records what moved where, so nothing is duplicated
and an interrupted sync resumes. Push and pull need the ``sync`` extra (``pip install
'nbtrack[sync]'``) for the HTTP client.
"""

from __future__ import annotations

from nbtrack.sync.mlflow_store import import_store
from nbtrack.sync.puller import pull
from nbtrack.sync.pusher import PushReport, push

__all__ = ["PushReport", "import_store", "pull", "push"]
