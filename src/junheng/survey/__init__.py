"""junheng.survey — sample selection, weights, replicate weights and estimators with SEs.

Public API (the modules behind it are private to the package)::

    build_frame, Frame, FrameRules                       the sampling frame and its exclusions (frame.py)
    SampleParams, select_schools, select_pupils          PPS selection with replacements (selection.py)
    draw_sample, Sample, final_weights                   one cycle's sample; final + replicate weights (pipeline.py)
    site_lists, site_list_frame                          the test sites' pupil lists (sitelists.py)
    form_zones, replicate_factors                        variance zones, JK2/Fay/BRR factors (replicates.py)
    adjust_nonresponse, trim, poststratify, rake         weight adjustments (weights.py)
    ReplicateDesign, TaylorDesign, ReportingRule         designs (design.py, taylor.py)
    mean, total, proportion, quantile, difference,
    versus_total, regression, rubin, resolve_pv          estimators (estimators.py)
    compare, bh_adjust                                   t tests with BH control (inference.py)

The design object is :class:`ReplicateDesign` (full-sample + replicate weights, JK2 / Fay / BRR,
variance around the full-sample estimate).  Estimators take ``(design, variable | pv, by=…)``
and return a Polars frame: grouping columns, ``estimate``, ``se``, ``n_pupils``, ``n_schools``,
``flag`` — see :mod:`junheng.survey.estimators`.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Names are imported on first use (PEP 562), so ``junheng survey estimate`` loads the design and
# the estimators only — not selection, weighting or Taylor linearisation (scipy.sparse).
_WHERE = {
    **dict.fromkeys(("METHODS", "NO_RULE", "ReplicateDesign", "ReportingRule"), "design"),
    **dict.fromkeys(("difference", "mean", "proportion", "quantile", "regression", "resolve_pv", "rubin", "total",
                     "versus_total"), "estimators"),
    **dict.fromkeys(("Frame", "FrameRules", "build_frame"), "frame"),
    **dict.fromkeys(("bh_adjust", "compare"), "inference"),
    **dict.fromkeys(("Sample", "draw_sample", "final_weights"), "pipeline"),
    **dict.fromkeys(("form_zones", "replicate_factors"), "replicates"),
    **dict.fromkeys(("SampleParams", "select_pupils", "select_schools"), "selection"),
    **dict.fromkeys(("site_list_frame", "site_lists"), "sitelists"),
    "TaylorDesign": "taylor",
    **dict.fromkeys(("adjust_nonresponse", "poststratify", "rake", "trim"), "weights"),
}


def __getattr__(name: str) -> object:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'junheng.survey' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"junheng.survey.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_WHERE])


if TYPE_CHECKING:
    from junheng.survey.design import METHODS, NO_RULE, ReplicateDesign, ReportingRule
    from junheng.survey.estimators import (
        difference,
        mean,
        proportion,
        quantile,
        regression,
        resolve_pv,
        rubin,
        total,
        versus_total,
    )
    from junheng.survey.frame import Frame, FrameRules, build_frame
    from junheng.survey.inference import bh_adjust, compare
    from junheng.survey.pipeline import Sample, draw_sample, final_weights
    from junheng.survey.replicates import form_zones, replicate_factors
    from junheng.survey.selection import SampleParams, select_pupils, select_schools
    from junheng.survey.sitelists import site_list_frame, site_lists
    from junheng.survey.taylor import TaylorDesign
    from junheng.survey.weights import adjust_nonresponse, poststratify, rake, trim

__all__ = [
    "METHODS",
    "NO_RULE",
    "Frame",
    "FrameRules",
    "ReplicateDesign",
    "ReportingRule",
    "Sample",
    "SampleParams",
    "TaylorDesign",
    "adjust_nonresponse",
    "bh_adjust",
    "build_frame",
    "compare",
    "difference",
    "draw_sample",
    "final_weights",
    "form_zones",
    "mean",
    "poststratify",
    "proportion",
    "quantile",
    "rake",
    "regression",
    "replicate_factors",
    "resolve_pv",
    "rubin",
    "select_pupils",
    "select_schools",
    "site_list_frame",
    "site_lists",
    "total",
    "trim",
    "versus_total",
]
