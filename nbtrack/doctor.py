"""``nbtrack.doctor()``: what to paste into a bug report (MLflow's ``mlflow.doctor``)."""

from __future__ import annotations

import os
import platform
import sys

from nbtrack import session
from nbtrack.version import __version__

# The packages nbtrack's features use, by their distribution names.
DEPENDENCIES = (
    "click",
    "cloudpickle",
    "ipywidgets",
    "markdown-it-py",
    "matplotlib",
    "numpy",
    "pandas",
    "plotly",
    "psutil",
    "pyyaml",
    "scikit-learn",
    "scipy",
    "skops",
    "sqlite-utils",
)
_ENV_PREFIXES = ("NBTRACK_", "MLFLOW_")

__all__ = ["doctor"]


def doctor(mask_envs: bool = False) -> None:
    """Print the system, Python, nbtrack, store and dependency facts useful for debugging.

    Parameters
    ----------
    mask_envs
        Print ``***`` instead of the values of ``NBTRACK_*`` / ``MLFLOW_*`` variables.
    """
    lines = [
        f"System information: {platform.system()} {platform.version()}",
        f"Python version: {platform.python_version()}",
        f"nbtrack version: {__version__}",
        f"nbtrack module location: {os.path.dirname(os.path.abspath(__file__))}",
        f"Tracking URI: {session.get_tracking_uri()}",
        f"Registry URI: {session.get_registry_uri()}",
    ]
    variables = sorted(k for k in os.environ if k.startswith(_ENV_PREFIXES))
    if variables:
        lines.append("nbtrack environment variables:")
        lines += [f"  {k}: {'***' if mask_envs else os.environ[k]}" for k in variables]
    from importlib.metadata import PackageNotFoundError, version  # ~30 ms: only when asked

    lines.append("nbtrack dependencies:")
    for name in DEPENDENCIES:
        try:
            lines.append(f"  {name}: {version(name)}")
        except PackageNotFoundError:
            continue
    print("\n".join(lines), file=sys.stdout)
