"""Run one benchmark scenario against one library, in this fresh process; print JSON.

Usage: python bench/worker.py <module> <scenario> <nbtrack|mlflow> <workdir>
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import warnings
from pathlib import Path


def main() -> None:
    module_name, scenario, library, workdir = sys.argv[1:5]
    sys.path.insert(0, str(Path(__file__).parent))
    os.chdir(workdir)
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{workdir}/store.db"
    os.environ["GIT_PYTHON_REFRESH"] = "quiet"
    warnings.simplefilter("ignore")
    module = importlib.import_module(module_name)
    lib = importlib.import_module(library)
    lib.set_tracking_uri(f"sqlite:///{workdir}/store.db")
    result = getattr(module, f"scenario_{scenario}")(lib, Path(workdir))
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
