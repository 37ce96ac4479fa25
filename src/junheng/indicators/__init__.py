"""junheng.indicators — 县域义务教育优质均衡 indicators (教督〔2017〕6号).

- :mod:`.resources`: the seven resource indicators as a declarative registry
  (:data:`RESOURCE_INDICATORS`), per-school values and verdict, the enrolment-weighted 差异系数
  per county and level, the county resource verdict;
- :mod:`.quality`: 教育质量 第9项 from the monitoring results (Ⅲ级以上 share and 校际差异率, with SEs);
- :mod:`.verdict`: checklist items (15 政府保障 + 9 教育质量 + 一票否决), 社会认可度, the overall
  verdict with reasons, change from last year;
- :mod:`.advice`: the unmet requirements of each county with the number behind each, and the
  整改建议 of each from a rules table.
"""

from junheng.indicators.advice import advice, recommendations, unmet_requirements
from junheng.indicators.quality import (
    DEFAULT_QUALITY,
    QualityRules,
    between_school_diff,
    between_school_share,
    one_sided_t,
    quality_indicator,
)
from junheng.indicators.resources import (
    CV_LIMITS,
    DEFAULT_RULES,
    RESOURCE_INDICATORS,
    Indicator,
    ResourceRules,
    county_cv,
    county_resource_verdict,
    school_indicators,
    school_units,
    weighted_cv,
)
from junheng.indicators.schemas import CHECKLIST, SCHOOLS, conform, read_typed
from junheng.indicators.verdict import (
    change,
    checklist_items,
    county_verdict,
    validate_checklist,
    verdicts_table,
)

__all__ = [
    "CHECKLIST", "CV_LIMITS", "SCHOOLS", "conform", "read_typed", "DEFAULT_QUALITY", "DEFAULT_RULES", "RESOURCE_INDICATORS", "Indicator", "QualityRules",
    "ResourceRules", "advice", "between_school_diff", "between_school_share", "change", "checklist_items", "county_cv", "county_resource_verdict",
    "county_verdict", "one_sided_t", "quality_indicator", "recommendations", "school_indicators", "school_units", "unmet_requirements", "validate_checklist", "verdicts_table",
    "weighted_cv",
]
