"""junheng.questionnaire — the 相关因素调查问卷 (student, principal and teacher questionnaires).

- definition: :class:`Questionnaire` (items, scales, indicators, missing codes) from JSON,
  checked rule by rule (:func:`load_questionnaire`, :func:`save_questionnaire`);
- responses: :func:`read_responses` / :func:`validate_responses` → the responses frame and
  every bad cell as an :class:`~junheng.exceptions.Issue`; :func:`template` writes an entry
  workbook with data validation;
- scoring: :func:`scale_scores` (scales and indicators per respondent), :func:`reliability`
  (Cronbach's α), :func:`item_frequencies`, :func:`scale_groups` (低/中/高);
- 相关因素: :func:`factor_gaps` — mean achievement per factor category and the gap between the
  extreme categories, SEs from the replicate weights (via :mod:`junheng.survey`).

The frames are described in ``docs/dev/contracts.md`` § Questionnaires, the methods in
``docs/methods/questionnaire.md``.
"""

from junheng.questionnaire.definition import (
    KEY_HEADERS,
    Indicator,
    Item,
    Questionnaire,
    Scale,
    load_questionnaire,
    questionnaire_from_json,
    save_questionnaire,
)
from junheng.questionnaire.gaps import factor_categories, factor_gaps
from junheng.questionnaire.responses import expected_headers, read_responses, validate_responses
from junheng.questionnaire.scoring import (
    GROUP_LABELS,
    item_frequencies,
    reliability,
    scale_groups,
    scale_scores,
)
from junheng.questionnaire.template import template

__all__ = [
    "GROUP_LABELS",
    "KEY_HEADERS",
    "Indicator",
    "Item",
    "Questionnaire",
    "Scale",
    "expected_headers",
    "factor_categories",
    "factor_gaps",
    "item_frequencies",
    "load_questionnaire",
    "questionnaire_from_json",
    "read_responses",
    "reliability",
    "save_questionnaire",
    "scale_groups",
    "scale_scores",
    "template",
    "validate_responses",
]
