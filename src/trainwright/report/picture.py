"""The run's training_curves.png: drawn by the report when the run did not draw it, or when the
run has written a newer state since the picture was drawn."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from trainwright.report.curves import plot_curves
from trainwright.report.models import RunReport

CURVES_FILE = "training_curves.png"
INSTALL = "pip install matplotlib (or pip install 'trainwright[pictures]')"


@dataclass(frozen=True)
class Picture:
    status: Literal["written", "kept", "no matplotlib", "nothing logged", "failed"]
    detail: str


def ensure_curves(report: RunReport) -> tuple[RunReport, Picture]:
    """The report with its picture's path, and what was done about the picture."""
    path = Path(report.folder) / CURVES_FILE
    state = Path(report.state_file) if report.state_file else None
    if path.is_file() and (state is None or path.stat().st_mtime >= state.stat().st_mtime):
        return dataclasses.replace(report, curves_png=str(path)), Picture(
            "kept", f"{path} (drawn after the run's last state)")
    if report.curves.empty:
        return report, Picture("nothing logged", "no losses logged yet: no curves to draw")
    stopped = report.early_stopping.step if report.early_stopping.fired else None
    title = f"Training curves: {Path(report.folder).resolve().name}"
    try:
        plot_curves(report.curves, path, best_step=report.best.step if report.best else None,
                    stopped_step=stopped, title=title)
    except ImportError:
        return report, Picture("no matplotlib",
                               f"the curves need matplotlib: {INSTALL}, then rerun the report")
    except OSError as error:
        return report, Picture("failed", f"could not write {path}: {error}")
    return dataclasses.replace(report, curves_png=str(path)), Picture("written", str(path))
