"""Reading the national upload template: formats, encodings, every bad row, plausibility warnings."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from openpyxl import Workbook

from junheng.exceptions import InputError
from junheng.fitness import graduation_scores, read_fitness_file, score_fitness
from junheng.registry.codes import check_char

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fitness"
HEAD = ["年级编号", "班级编号", "班级名称", "学籍号", "民族代码", "姓名", "性别", "出生日期", "家庭住址", "身高", "体重",
        "肺活量", "50米跑", "坐位体前屈", "一分钟跳绳", "一分钟仰卧起坐", "50米×8往返跑", "左眼裸眼视力", "右眼裸眼视力", "免测"]


def sid(k: int) -> str:
    body = f"41010220100101{k:03d}"
    return "G" + body + check_char(body)


def test_xlsx_with_typed_cells_reads_exactly(tmp_path):
    wb = Workbook()
    ws = wb.active
    ws.append(HEAD)
    ws.append([16, "01", "六(1)班", sid(1), "01", "张三", 2, "2010-01-01", "郑州", 150.0, 40.5, 2010, 8.25, 1.85, 170,
               46, "1'40\"", 5.0, 4.9, None])
    ws.append([16, "01", "六(1)班", sid(2), "01", "李四", 1, "2010-01-01", "郑州", None, None, None, None, None, None,
               None, None, None, None, "免测"])
    wb.save(tmp_path / "a.xlsx")
    up = read_fitness_file(tmp_path / "a.xlsx")
    r = up.records.row(0, named=True)
    assert (r["grade"], r["sex"], r["run_50m"], r["sit_and_reach"], r["shuttle_50x8"]) == (6, 2, 8.3, 1.9, 100)
    s = score_fitness(up.records)
    assert s["total_score"].to_list() == [91.2, None]  # the grade-6 girl's hand-worked card
    assert s["exempt"].to_list() == [False, True]


def test_gb18030_csv_with_full_width_digits_and_spaces(tmp_path):
    text = ",".join(HEAD) + "\n" + ",".join(
        ["１６", "01", "六(1)班", sid(3), "01", "王五", " 1 ", "2010-01-01", "郑州", "１４５．０", "52.0", "1500", "10.7",
         "-4.1", "64", "18", "2′13″", "4.8", "4.5", ""]) + "\n"
    path = tmp_path / "b.csv"
    path.write_bytes(text.encode("gb18030"))
    s = score_fitness(read_fitness_file(path).records)
    assert s["total_score"].to_list() == [53.0] and s["vision_class"].to_list() == ["重度"]


def test_every_bad_row_is_reported_with_its_spreadsheet_row():
    with pytest.raises(InputError) as err:
        read_fitness_file(FIXTURES / "bad_upload.csv")
    got = {(i.row, i.column) for i in err.value.errors}
    assert {(3, "年级编号"), (3, "性别"), (3, "肺活量"), (4, "一分钟仰卧起坐"), (4, "1000米跑")} <= got
    assert all(i.file == "bad_upload.csv" for i in err.value.errors)
    bilingual = err.value.errors[0].message()
    assert " / " in bilingual and "第3行" in bilingual


def test_implausible_but_legal_values_are_warnings_not_errors(tmp_path):
    text = ",".join(HEAD[:13]) + "\n" + ",".join(
        ["16", "01", "六(1)班", sid(4), "01", "赵六", "1", "2010-01-01", "郑州", "150", "40", "2500", "5.2"]) + "\n"
    path = tmp_path / "c.csv"
    path.write_text(text, encoding="utf-8")
    up = read_fitness_file(path)
    assert [(w.row, w.column, w.severity) for w in up.warnings if w.column == "50米跑"] == [(2, "50米跑", "warning")]


def test_missing_required_column_is_a_file_level_error(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("学籍号,姓名\n" + sid(5) + ",某\n", encoding="utf-8")
    with pytest.raises(InputError, match="年级编号"):
        read_fitness_file(path)


def test_graduation_score_is_half_final_year_half_mean_of_the_others():
    r = pl.DataFrame({"student_id": ["a", "a", "a", "b"], "year": [2020, 2021, 2022, 2022],
                      "total_score": [80.0, 85.5, 90.0, 59.9]})
    g = graduation_scores(r)
    # a: 0.5·90.0 + 0.5·(80.0 + 85.5)/2 = 45 + 41.375 = 86.375 → 86.4 良好; b: only the final year
    assert g["graduation_score"].to_list() == [86.4, 59.9]
    assert g["rating"].cast(pl.String).to_list() == ["良好", "不及格"]


def _grade6_girl_frame(**override) -> pl.DataFrame:
    row = {"年级编号": 16, "班级编号": "01", "班级名称": "六(1)班", "学籍号": sid(1), "民族代码": "01", "姓名": "张三",
           "性别": 2, "出生日期": "2010-01-01", "家庭住址": "郑州", "身高": 150.0, "体重": 40.5, "肺活量": 2010,
           "50米跑": 8.25, "坐位体前屈": 1.85, "一分钟跳绳": 170, "一分钟仰卧起坐": 46, "50米×8往返跑": "1'40\"",
           "左眼裸眼视力": 5.0, "右眼裸眼视力": 4.9, "免测": None}
    row.update(override)
    return pl.DataFrame([row])


@pytest.mark.parametrize("float_dtype", [pl.Float64, pl.Float32])
def test_parquet_upload_with_typed_columns_scores_the_hand_worked_card(tmp_path, float_dtype):
    # the same grade-6 girl as the xlsx test above: 91.2 by hand; a float32 8.25 is still 8.25 → 8.3
    df = _grade6_girl_frame().with_columns(pl.col(pl.Float64).cast(float_dtype))
    df.write_parquet(tmp_path / "a.parquet")
    up = read_fitness_file(tmp_path / "a.parquet")
    r = up.records.row(0, named=True)
    assert (r["grade"], r["sex"], r["run_50m"], r["sit_and_reach"], r["shuttle_50x8"]) == (6, 2, 8.3, 1.9, 100)
    assert score_fitness(up.records)["total_score"].to_list() == [91.2]


def test_parquet_upload_as_text_reports_every_bad_row_by_record_number(tmp_path):
    rows = [_grade6_girl_frame(学籍号=sid(k)) for k in range(1, 4)]
    rows[1] = _grade6_girl_frame(学籍号=sid(2), 肺活量=99999)
    rows[2] = _grade6_girl_frame(学籍号=sid(1), 性别=3)  # duplicate id and a bad sex code
    df = pl.concat(rows).with_columns(pl.all().cast(pl.String))
    df.write_parquet(tmp_path / "b.parquet")
    with pytest.raises(InputError) as err:
        read_fitness_file(tmp_path / "b.parquet")
    got = {(i.row, i.column, str(i.value)) for i in err.value.errors}
    assert {(2, "肺活量", "99999"), (3, "性别", "3"), (1, "学籍号", sid(1)), (3, "学籍号", sid(1))} <= got
    assert all(i.file == "b.parquet" for i in err.value.errors)
    assert "第2行" in next(i for i in err.value.errors if i.column == "肺活量").message()


def test_typed_parquet_codes_nulls_and_ranges_are_checked_by_record_number(tmp_path):
    # integer code columns (年级编号, 性别, 串镜, 屈光不正) are read as integers, not as text
    rows = [_grade6_girl_frame(学籍号=sid(k), 左眼串镜=0, 右眼串镜=1, 左眼屈光不正=0, 右眼屈光不正=1) for k in range(1, 8)]
    rows[1] = rows[1].with_columns(pl.lit(17, pl.Int64).alias("年级编号"))            # no such grade code
    rows[2] = rows[2].with_columns(pl.lit(3, pl.Int64).alias("性别"))       # no such sex code
    rows[3] = rows[3].with_columns(pl.lit(None, pl.Int64).alias("性别"))    # no sex at all
    rows[4] = rows[4].with_columns(pl.lit(5, pl.Int64).alias("左眼串镜"), pl.lit(7, pl.Int64).alias("右眼屈光不正"))
    rows[5] = rows[5].with_columns(pl.lit(4.0).alias("50米跑"), pl.lit(None, pl.Float64).alias("身高"))
    df = pl.concat(rows)
    assert df.schema["性别"] == pl.Int64 and df.schema["左眼串镜"] == pl.Int64
    df.write_parquet(tmp_path / "t.parquet")
    with pytest.raises(InputError) as err:
        read_fitness_file(tmp_path / "t.parquet")
    got = {(i.row, i.column, None if i.value is None else str(i.value)) for i in err.value.errors}
    assert got == {(2, "年级编号", "17"), (3, "性别", "3"), (4, "性别", None), (5, "左眼串镜", "5"),
                   (5, "右眼屈光不正", "7"), (6, "50米跑", "4.0")}
    ok = read_fitness_file_frame(tmp_path, pl.concat([rows[0], rows[6]]))
    assert ok.records["sex"].to_list() == [2, 2] and ok.records["lens_right"].to_list() == [1, 1]
    assert ok.records["grade_code"].to_list() == [16, 16] and ok.records["grade"].to_list() == [6, 6]


def read_fitness_file_frame(tmp_path, df: pl.DataFrame):
    df.write_parquet(tmp_path / "ok.parquet")
    return read_fitness_file(tmp_path / "ok.parquet")


def test_rows_of_spaces_are_dropped_like_blank_rows(tmp_path):
    text = ",".join(HEAD) + "\n" + ",".join(
        ["16", "01", "六(1)班", sid(6), "01", "张三", "2", "2010-01-01", "郑州", "150.0", "40.5", "2010", "8.25", "1.85",
         "170", "46", "1'40\"", "5.0", "4.9", ""]) + "\n" + ",".join([" "] * len(HEAD)) + "\n"
    path = tmp_path / "e.csv"
    path.write_text(text, encoding="utf-8")
    assert score_fitness(read_fitness_file(path).records)["total_score"].to_list() == [91.2]


def test_normalising_only_the_odd_cells_equals_normalising_all():
    from junheng.fitness.quantize import normalize_series, normalize_text

    s = pl.Series("x", ["147.5", "１４５．０", " 1 ", "", None, "1,500", "3′45″", "\u3000", "8.1"] * 3)
    whole = s.to_frame().select(normalize_text(pl.col("x"))).to_series()
    assert normalize_series(s).to_list() == whole.to_list()


def test_a_census_layout_file_reads_back_as_the_records_it_was_written_from(tmp_path):
    """docs/guide/fitness.md writes ``upload.records`` with write_census_parquet, where a missing
    measure is NaN: read again as an upload (``junheng fitness score/summary/export``, the web
    import), NaN is a blank cell as the null was — not "must be a number, got nan"."""
    from junheng.io import write_census_parquet

    rows = [_grade6_girl_frame(学籍号=sid(1)), _grade6_girl_frame(学籍号=sid(2), 身高=None, 肺活量=None, 一分钟跳绳=None,
                                                                  **{"50米×8往返跑": None, "左眼裸眼视力": None})]
    df = pl.concat(rows, how="vertical_relaxed")
    df.write_parquet(tmp_path / "a.parquet")
    records = read_fitness_file(tmp_path / "a.parquet").records
    assert records["height_cm"].null_count() == 1 and records["shuttle_50x8"].null_count() == 1
    census = write_census_parquet(records, tmp_path / "census.parquet")
    assert pl.read_parquet(census)["height_cm"].is_nan().sum() == 1  # the layout as written: NaN
    back = read_fitness_file(census).records
    assert back.equals(records)
    assert score_fitness(back).equals(score_fitness(records))


@pytest.mark.parametrize("float_dtype", [pl.Float64, pl.Float32])
def test_a_nan_in_a_typed_parquet_measure_is_a_blank_cell_like_a_null(tmp_path, float_dtype):
    """A device's NaN and a null read the same: no value (as the census stream reads both)."""
    nan = float("nan")
    with_nan = _grade6_girl_frame(身高=nan, 体重=nan, **{"50米跑": nan, "左眼裸眼视力": nan})
    with_null = with_nan.with_columns(pl.col(pl.Float64).fill_nan(None))
    for name, df in (("nan", with_nan), ("null", with_null)):
        df.with_columns(pl.col(pl.Float64).cast(float_dtype)).write_parquet(tmp_path / f"{name}.parquet")
    a, b = read_fitness_file(tmp_path / "nan.parquet"), read_fitness_file(tmp_path / "null.parquet")
    assert a.records.equals(b.records) and a.records["height_cm"].to_list() == [None]
    assert a.raw.drop("__row__").equals(b.raw.drop("__row__"))  # the scored output's input columns: empty, not NaN


def test_the_national_upload_writes_a_nan_measure_as_an_empty_cell(tmp_path):
    """A scored file in the census layout (NaN for every missing measure, whole-number items as
    Float64) exported to the national template: empty cells and whole numbers, as from the records
    themselves — not a crash on the endurance times, not the text NaN, not 2010.0."""
    from junheng.fitness import national_upload
    from junheng.io import write_census_parquet

    records = read_fitness_file_frame(tmp_path, pl.concat(
        [_grade6_girl_frame(学籍号=sid(1)), _grade6_girl_frame(学籍号=sid(2), 身高=None, 肺活量=None,
                                                                **{"50米×8往返跑": None})],
        how="vertical_relaxed")).records
    scored = score_fitness(records)
    back = pl.read_parquet(write_census_parquet(scored, tmp_path / "scored.parquet"))
    assert back["shuttle_50x8"].is_nan().sum() == 1 and back["vital_capacity"].dtype == pl.Float64
    expected = national_upload(scored)
    assert expected["肺活量"].to_list() == [2010, None] and expected["50米×8往返跑"].to_list() == ["1′40″", None]
    assert national_upload(back).equals(expected)
