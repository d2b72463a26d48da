"""Demo run directories, written once per test session and copied for each test."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from tests.demo_run import write_demo_run

_TEMPLATES: dict[bool, Path] = {}


def copy_run(where: Path, finished: bool = True) -> Path:
    """A fresh copy of the demo run (``where/run``): finished, or with a RUNNING trial."""
    if finished not in _TEMPLATES:
        folder = Path(tempfile.mkdtemp(prefix="genesynth-demo-")) / "run"
        _TEMPLATES[finished] = write_demo_run(folder, finished=finished)
    return Path(shutil.copytree(_TEMPLATES[finished], where / "run"))
