"""Vision screening: uncorrected acuity on the 5-point record (五分记录, GB 11533), 3.0–5.3.

Per eye and per pupil (the worse eye), as in the national student-health monitoring:
正常 ≥ 5.0, 轻度 (mild) 4.9, 中度 (moderate) 4.6–4.8, 重度 (severe) ≤ 4.5.
视力不良 (poor vision) is any class other than 正常. Acuity is compared in integer tenths.
A recorded 0 means "not tested" in the upload template and counts as missing.
"""

from __future__ import annotations

import numpy as np

from junheng.fitness.items import VISION_CLASSES
from junheng.fitness.quantize import MISSING

VISION_MIN, VISION_MAX = 30, 53  # tenths


def vision_class(acuity_tenths: np.ndarray) -> np.ndarray:
    """Class code per eye: 0 正常, 1 轻度, 2 中度, 3 重度; -1 where missing (or 0 = not tested)."""
    q = np.asarray(acuity_tenths)
    c = np.select([q >= 50, q == 49, q >= 46], [0, 1, 2], 3).astype(np.int8)
    return np.where((q == MISSING) | (q <= 0), -1, c).astype(np.int8)


def pupil_vision_class(left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """The pupil's class: the worse of the measured eyes (-1 when neither was measured)."""
    return np.maximum(vision_class(left), vision_class(right))


__all__ = ["VISION_CLASSES", "VISION_MAX", "VISION_MIN", "pupil_vision_class", "vision_class"]
