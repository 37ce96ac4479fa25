"""junheng.survey — sample selection, weights, replicate weights and estimators with SEs.

The design object is :class:`ReplicateDesign` (full-sample + replicate weights, JK2 / Fay / BRR,
variance around the full-sample estimate).  Estimators take ``(design, variable | pv, by=…)``
and return a Polars frame: grouping columns, ``estimate``, ``se``, ``n_pupils``, ``n_schools``,
``flag`` — see :mod:`junheng.survey.estimators`.
"""

from junheng.survey.design import METHODS, NO_RULE, ReplicateDesign, ReportingRule
from junheng.survey.estimators import (
    difference,
    mean,
    proportion,
    quantile,
    regression,
    rubin,
    total,
    versus_total,
)
from junheng.survey.inference import bh_adjust, compare
from junheng.survey.taylor import TaylorDesign

__all__ = [
    "METHODS",
    "NO_RULE",
    "ReplicateDesign",
    "ReportingRule",
    "TaylorDesign",
    "bh_adjust",
    "compare",
    "difference",
    "mean",
    "proportion",
    "quantile",
    "regression",
    "rubin",
    "total",
    "versus_total",
]
