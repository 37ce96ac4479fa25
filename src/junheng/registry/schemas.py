"""The registry files a province office holds: their columns, as schools write them.

A :class:`Column` names the canonical field (English, snake_case — the name used in frames and
in the database), the Chinese header schools use, and accepted aliases. Readers match headers
after normalisation (full-width → half-width, spaces removed, case folded). These schemas are
the one contract between the synthetic province (``junheng.synth``), the importers
(``junheng.registry`` validation, the web import service) and the templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    field: str
    header: str  # the Chinese header as written in templates and synthetic files
    aliases: tuple[str, ...] = ()
    required: bool = True
    description: str = ""

    def names(self) -> tuple[str, ...]:
        return (self.header, self.field, *self.aliases)


@dataclass(frozen=True)
class Schema:
    name: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = field(default=())

    def column(self, field_name: str) -> Column:
        for c in self.columns:
            if c.field == field_name:
                return c
        raise KeyError(field_name)

    @property
    def headers(self) -> list[str]:
        return [c.header for c in self.columns]


STAGES = ("小学", "初中", "九年一贯制", "完全中学")
LOCATIONS = ("城区", "镇区", "乡村")

_grade_cols: list[Column] = []
_GRADE_ZH = ("一", "二", "三", "四", "五", "六", "七", "八", "九")
for _g, _zh in enumerate(_GRADE_ZH, start=1):
    _grade_cols.append(
        Column(f"enrol_g{_g}", f"{_zh}年级在校生数", (f"enrolment_g{_g}", f"g{_g}_enrolment"), required=False,
               description=f"grade {_g} enrolment (在校生数)")
    )
for _g, _zh in enumerate(_GRADE_ZH, start=1):
    _grade_cols.append(
        Column(f"classes_g{_g}", f"{_zh}年级班数", (f"g{_g}_classes",), required=False,
               description=f"grade {_g} number of classes")
    )

SCHOOLS = Schema(
    name="schools",
    key=("school_code",),
    columns=(
        Column("school_code", "学校标识码", ("学校代码", "school_id", "code"), description="10-digit 学校标识码"),
        Column("name", "学校名称", ("school_name", "名称")),
        Column("county_code", "区县代码", ("县区代码", "行政区划代码", "county"), description="GB/T 2260 county-level code"),
        Column("stage", "办学类型", ("学段", "school_stage"), description="小学 / 初中 / 九年一贯制 / 完全中学"),
        Column("location", "城乡类型", ("城乡分类", "urban_rural"), description="城区 / 镇区 / 乡村"),
        Column("is_teaching_point", "是否教学点", ("教学点", "teaching_point"), required=False,
               description="是/否: a 教学点 (teaching point) rather than a full school"),
        *_grade_cols,
        # the figures behind the seven 优质均衡 resource indicators (教督〔2017〕6号 第九条)
        Column("teachers_above_qualification", "高于规定学历教师数", ("teachers_above_degree",), required=False,
               description="专任教师中高于规定学历者 (小学: 专科及以上; 初中: 本科及以上)"),
        Column("key_teachers", "县级以上骨干教师数", ("county_key_teachers",), required=False),
        Column("pe_arts_teachers", "体育艺术专任教师数", ("体育、艺术专任教师数", "pe_art_teachers"), required=False,
               description="体育 + 音乐 + 美术 专任教师"),
        Column("teaching_area_m2", "教学及辅助用房面积", ("teaching_area",), required=False, description="m²"),
        Column("sports_area_m2", "体育运动场馆面积", ("sports_area",), required=False, description="m²"),
        Column("equipment_value_yuan", "教学仪器设备值", ("equipment_value",), required=False, description="元"),
        Column("multimedia_classrooms", "网络多媒体教室数", ("multimedia_rooms",), required=False),
    ),
)

PUPILS = Schema(
    name="pupils",
    key=("student_id",),
    columns=(
        Column("student_id", "学籍号", ("全国学籍号", "学籍编号", "student_no"), description="G/J + 18 (MOD 11-2), or L + 18"),
        Column("name", "姓名", ("学生姓名", "pupil_name")),
        Column("sex", "性别", ("gender",), description="1 男 / 2 女 (GB/T 2261.1); 男/女 accepted"),
        Column("birth_date", "出生日期", ("出生年月", "birthdate", "dob")),
        Column("ethnicity", "民族", ("民族代码", "ethnic_code"), required=False, description="GB 3304 code or name"),
        Column("school_code", "学校标识码", ("学校代码", "school_id")),
        Column("grade", "年级", ("年级编号", "grade_code"), description="1–9, or 年级编号 11–16 / 21–23"),
        Column("class_code", "班级编号", ("班号", "class_no"), required=False),
        Column("class_name", "班级名称", ("班级", "class"), required=False),
    ),
)

__all__ = ["LOCATIONS", "PUPILS", "SCHOOLS", "STAGES", "Column", "Schema"]
