"""Model serving: MLflow's scoring protocol on Starlette and uvicorn (``nbtrack[serve]``).

* :mod:`~nbtrack.serving.payloads` – request bodies in every form MLflow accepts, responses;
* :mod:`~nbtrack.serving.app` – the ASGI app: ``/invocations``, ``/ping``, ``/health``,
  ``/version``, MLflow's JSON errors, size and time limits;
* :mod:`~nbtrack.serving.follow` – the model in service, and following a moving alias;
* :mod:`~nbtrack.serving.server` – ``nbtrack models serve``: load, bind, run, stop;
* :mod:`~nbtrack.serving.handle` – ``nbtrack.models.serve``: a server in the background;
* :mod:`~nbtrack.serving.batch` – ``nbtrack models predict``: score a file.

Starlette and uvicorn are imported only by ``app`` and ``server``, when a server starts.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ModelServer", "serve"]


def __getattr__(name: str) -> Any:
    """``serve`` and ``ModelServer`` load on first use: a server process never needs them."""
    if name in __all__:
        from nbtrack.serving import handle

        return getattr(handle, name)
    raise AttributeError(f"module 'nbtrack.serving' has no attribute {name!r}")
