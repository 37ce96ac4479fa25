"""junheng.irt — item response theory: calibration, person scores, plausible values, linking.

Estimators follow scikit-learn's conventions (parameters in ``__init__``, ``fit() -> self``,
fitted attributes end in ``_``, randomness through ``random_state``). Frames are those of
``docs/dev/contracts.md``: wide scored responses (``person_id`` + one integer column per item,
null = not administered) in; ITEMS frames (``item_id, model, ncat, a, b, c, b_1 … b_k, se_*``,
logistic metric, D = 1) and person-score frames out.

Calibration::

    from junheng import irt
    fit = irt.calibrate(responses, "2pl")          # or irt.IRTModel("gpcm", n_quad=41).fit(df, group="sex")
    irt.IRTModel("2pl").fit(df, items=["M0101", "M0102", ...])   # name the item columns when others are present
    fit.items_, fit.loglik_, fit.n_iter_, fit.converged_, fit.group_means_, fit.group_sds_

Person scores (item parameters fixed; ``items`` is an ITEMS frame or a fitted model)::

    irt.eap(items, responses)                     # person_id, theta_eap, theta_se
    irt.wle(items, responses); irt.map_(items, responses)
    irt.plausible_values(items, responses, n=5, conditioning=["sex", "location"], random_state=1)

Linking and reporting::

    link = irt.stocking_lord(new_items, base_items)   # also haebara, mean_mean, mean_sigma
    linked = link.items(new_items); theta_base = link.theta(theta_new)
    drift = irt.anchor_drift(free_new_items, base_items)  # robust z; drift.retained, drift.linking_error
    IRTModel("2pl", fixed_items=base_items).fit(df)   # fixed-anchor calibration
    scale = irt.ReportingScale(500, 100).fit(base_theta, weights)
    irt.levels(scale.transform(theta), cuts=[420, 500, 580])   # 1–4 = 水平Ⅰ–Ⅳ

Standard setting: ``standard_setting.ordered_item_booklet``, ``bookmark``, ``angoff`` → ``CutScores``
(cuts with provenance; ``provisional`` until a panel has met).

Curves: ``expected_scores`` (TCC), ``information``, ``rasch_fit`` (infit/outfit).
Item fit: ``sx2(fit, responses)`` (S-X², Orlando & Thissen 2000).
Methods and their sources: ``docs/methods/irt.md``.
"""

from . import simulate, standard_setting
from ._models import MODELS
from .calibration import IRTModel, calibrate, quadrature
from .curves import expected_scores, information, rasch_fit
from .fit import sx2
from .linking import (
    LEVEL_LABELS,
    LEVEL_NAMES,
    DriftCheck,
    Link,
    ReportingScale,
    anchor_drift,
    haebara,
    levels,
    mean_mean,
    mean_sigma,
    stocking_lord,
    transform_items,
)
from .scoring import eap, latent_regression, map_, plausible_values, wle
from .simulate import booklet_design, simulate_responses
from .standard_setting import CutScores, angoff, bookmark, ordered_item_booklet, provisional

__all__ = [
    "CutScores",
    "angoff",
    "bookmark",
    "ordered_item_booklet",
    "provisional",
    "LEVEL_LABELS",
    "LEVEL_NAMES",
    "MODELS",
    "IRTModel",
    "DriftCheck",
    "Link",
    "anchor_drift",
    "ReportingScale",
    "calibrate",
    "eap",
    "expected_scores",
    "haebara",
    "information",
    "latent_regression",
    "levels",
    "map_",
    "mean_mean",
    "mean_sigma",
    "plausible_values",
    "quadrature",
    "rasch_fit",
    "stocking_lord",
    "sx2",
    "transform_items",
    "booklet_design",
    "simulate",
    "standard_setting",
    "simulate_responses",
    "wle",
]
