"""Physical fitness testing by 国家学生体质健康标准（2014年修订）.

Public API::

    score_fitness(frame)            canonical records → records + scores (exact, vectorised)
    Battery(dropped=...)            a reduced battery (items not tested), scored by reweighting
    score_batch(record_batch)       the same on one Arrow batch (streaming / Spark mapInArrow)
    read_fitness_file(path)         national upload template (xlsx/csv) → canonical frame, every row error
    fitness_estimates(scored, w, p) 达标率 / 优良率 / 优秀率 and mean total score with replicate SEs
    summarize(scored, by=...)       达标率 / 优良率 / 优秀率 / 不及格率, item means and rates, BMI and vision rates
    graduation_scores(records)      毕业成绩 from several school years
    tested_items(grade, sex)        the items of a grade and sex
    load_standard()                 the compiled tables (see standards/SOURCES.md)
"""

from junheng.fitness.aggregate import summarize, summarize_levels
from junheng.fitness.battery import Battery, reduced_weights
from junheng.fitness.estimates import FITNESS_STATISTICS, fitness_estimates
from junheng.fitness.export import (
    SCORE_HEADERS,
    mask_personal,
    national_upload,
    scored_output,
    template_headers,
    write_entry_workbooks,
    write_table,
)
from junheng.fitness.graduation import graduation_scores
from junheng.fitness.items import (
    BMI_CLASSES,
    BONUS_ITEMS,
    CENSUS_MEASURES,
    ITEMS,
    RATINGS,
    VISION_CLASSES,
    Item,
    tested_items,
)
from junheng.fitness.scoring import SCORE_COLUMNS, score_batch, score_fitness
from junheng.fitness.standard import load_standard
from junheng.fitness.template_io import (
    GRADE_OF_CODE,
    HEADER_OF,
    FitnessUpload,
    census_limits,
    check_upload,
    grade_of_code,
    read_fitness_file,
    read_raw,
    student_id_rows,
)

__all__ = [
    "GRADE_OF_CODE",
    "grade_of_code",
    "HEADER_OF",
    "check_upload",
    "read_raw",
    "template_headers",
    "student_id_rows",
    "census_limits",
    "Battery",
    "reduced_weights",
    "FITNESS_STATISTICS",
    "fitness_estimates",
    "SCORE_HEADERS",
    "mask_personal",
    "BMI_CLASSES",
    "BONUS_ITEMS",
    "CENSUS_MEASURES",
    "FitnessUpload",
    "graduation_scores",
    "national_upload",
    "read_fitness_file",
    "scored_output",
    "summarize",
    "summarize_levels",
    "summarize_parquet",
    "rewrite_census_parquet",
    "write_entry_workbooks",
    "write_table",
    "ITEMS",
    "RATINGS",
    "SCORE_COLUMNS",
    "VISION_CLASSES",
    "Item",
    "load_standard",
    "score_batch",
    "score_fitness",
    "tested_items",
]


def __getattr__(name: str):
    """``summarize_parquet`` (the census path) and ``rewrite_census_parquet`` (the census layout)
    imported on first use: they bring pyarrow's compute module, which scoring a file never needs
    (≈ 0.05 CPU-s of every ``junheng fitness`` command)."""
    if name == "summarize_parquet":
        from junheng.fitness import stream

        return stream.summarize_parquet
    if name == "rewrite_census_parquet":  # junheng fitness census-layout
        from junheng.fitness.census_layout import rewrite_census_parquet

        return rewrite_census_parquet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
