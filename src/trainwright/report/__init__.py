"""`trainwright report`: what a finished or running run did, read from its output folder."""

from trainwright.report.compare import ComparedRow, compare_runs
from trainwright.report.curves import Curves, curve_points, plot_curves
from trainwright.report.models import RunReport
from trainwright.report.picture import Picture, ensure_curves
from trainwright.report.run import read_run

__all__ = ["ComparedRow", "Curves", "Picture", "RunReport", "compare_runs", "curve_points",
           "ensure_curves", "plot_curves", "read_run"]
