"""The test items of 国家学生体质健康标准（2014年修订） and how each is measured.

Each item is compared with its thresholds as an *integer* at the standard's resolution
(``scale`` units per base unit): tenths of a second for 50米跑, tenths of a centimetre for
坐位体前屈, whole seconds for the endurance runs, whole counts, whole millilitres. Scores are
looked up by that integer, never by a binary float.

Ranges are the national upload system's import limits (POLICY.md §5.5, mirrored from a public
upload validator): a value outside them is rejected, as the national system rejects it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Direction = Literal["higher_better", "lower_better"]


@dataclass(frozen=True, slots=True)
class Item:
    field: str  # canonical field of the core frames
    header: str  # header of the national upload template
    ref_name: str  # name in the shipped standards/*.csv
    unit: str
    scale: int  # integer units per base unit (10 = tenths)
    direction: Direction
    lo: float  # import range, base units (inclusive)
    hi: float
    time_format: bool = False  # written 分′秒″ in the template
    aliases: tuple[str, ...] = ()

    @property
    def score_field(self) -> str:
        return f"{self.field}_score"

    @property
    def bonus_field(self) -> str:
        return f"{self.field}_bonus"

    @property
    def score_header(self) -> str:
        return f"{self.header}得分"

    @property
    def bonus_header(self) -> str:
        return f"{self.header}附加分"


# Scored items, in the order of the template.
ITEMS: tuple[Item, ...] = (
    Item("vital_capacity", "肺活量", "vital_capacity", "ml", 1, "higher_better", 500, 9999),
    Item("run_50m", "50米跑", "run_50m", "s", 10, "lower_better", 5, 20, aliases=("50米",)),
    Item("sit_and_reach", "坐位体前屈", "sit_and_reach", "cm", 10, "higher_better", -30, 40),
    Item("rope_skipping", "一分钟跳绳", "rope_skipping_1min", "count", 1, "higher_better", 0, 300,
         aliases=("1分钟跳绳", "跳绳")),
    Item("sit_ups", "一分钟仰卧起坐", "sit_up_1min", "count", 1, "higher_better", 0, 99,
         aliases=("1分钟仰卧起坐", "仰卧起坐")),
    Item("shuttle_50x8", "50米×8往返跑", "shuttle_50m_x8", "s", 1, "lower_better", 45, 240, time_format=True,
         aliases=("50米x8往返跑", "50米*8往返跑", "50×8往返跑", "50米X8往返跑")),
    Item("standing_long_jump", "立定跳远", "standing_long_jump", "cm", 1, "higher_better", 50, 400),
    Item("pull_ups", "引体向上", "pull_up", "count", 1, "higher_better", 0, 99),
    Item("run_800m", "800米跑", "run_800m", "s", 1, "lower_better", 120, 540, time_format=True, aliases=("800米",)),
    Item("run_1000m", "1000米跑", "run_1000m", "s", 1, "lower_better", 120, 540, time_format=True,
         aliases=("1000米",)),
)
ITEM_BY_FIELD: dict[str, Item] = {i.field: i for i in ITEMS}
ITEM_BY_REF: dict[str, Item] = {i.ref_name: i for i in ITEMS}

# Body measures and vision (not scored through a threshold table of their own).
HEIGHT = Item("height_cm", "身高", "height", "cm", 10, "higher_better", 80, 250)
WEIGHT = Item("weight_kg", "体重", "weight", "kg", 10, "higher_better", 14, 200)
VISION_FIELDS = ("vision_left", "vision_right")
# The measure fields of a census file, in the order the census reader stacks them
# (junheng.fitness.stream) — the one list: the census writer (junheng.io.write_census_parquet) writes
# these with NaN for a missing value, and the Spark engine reads their integer columns as doubles.
CENSUS_MEASURES = (HEIGHT.field, WEIGHT.field, *(i.field for i in ITEMS), *VISION_FIELDS)

# Items that earn 附加分 (bonus), by stage: rope skipping in primary; pull-ups / girls' sit-ups
# and 1000 m / 800 m in junior (标准 附加指标评分表).
BONUS_ITEMS = ("rope_skipping", "pull_ups", "sit_ups", "run_1000m", "run_800m")

RATINGS = ("优秀", "良好", "及格", "不及格")
BMI_CLASSES = ("低体重", "正常", "超重", "肥胖")
VISION_CLASSES = ("正常", "轻度", "中度", "重度")

WEIGHT_GROUP_OF_GRADE = {1: "1-2", 2: "1-2", 3: "3-4", 4: "3-4", 5: "5-6", 6: "5-6", 7: "7-9", 8: "7-9", 9: "7-9"}


def tested_items(grade: int, sex: int) -> tuple[str, ...]:
    """The scored items (besides BMI) of a grade (1–9) and sex (1 男, 2 女), per the standard."""
    if grade in (1, 2):
        return ("vital_capacity", "run_50m", "sit_and_reach", "rope_skipping")
    if grade in (3, 4):
        return ("vital_capacity", "run_50m", "sit_and_reach", "rope_skipping", "sit_ups")
    if grade in (5, 6):
        return ("vital_capacity", "run_50m", "sit_and_reach", "rope_skipping", "sit_ups", "shuttle_50x8")
    if sex == 1:
        return ("vital_capacity", "run_50m", "sit_and_reach", "standing_long_jump", "pull_ups", "run_1000m")
    return ("vital_capacity", "run_50m", "sit_and_reach", "standing_long_jump", "sit_ups", "run_800m")


__all__ = [
    "BMI_CLASSES",
    "BONUS_ITEMS",
    "CENSUS_MEASURES",
    "HEIGHT",
    "ITEMS",
    "ITEM_BY_FIELD",
    "ITEM_BY_REF",
    "RATINGS",
    "VISION_CLASSES",
    "VISION_FIELDS",
    "WEIGHT",
    "Item",
    "tested_items",
]
