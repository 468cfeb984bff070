"""nbtrack's version, importable by any layer without importing the package's front door."""

from __future__ import annotations

__version__ = "0.1.0"
