"""The reports: every county in the annual PDF, embedded CJK fonts, non-blank pages, reproducible HTML,
graceful degradation, findings only from significant differences."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import polars as pl
import pytest

from junheng.exceptions import ParameterError
from junheng.reports import annual_html, build, county_html, school_html, write_reports
from junheng.reports.context import GAP_WORDS, findings_annual

pytestmark = pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")


@pytest.fixture(scope="module")
def written(tables, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    codes = tables["resource"]["county_code"].to_list()[:1]
    return out, write_reports(tables, out, counties=codes, processes=2)


@pytest.mark.integration
def test_annual_pdf_names_every_county_and_embeds_a_cjk_font(written, tables):
    out, _ = written
    text = subprocess.run(["pdftotext", "-layout", str(out / "annual.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    names = tables.inputs.names.filter(pl.col("county_code").is_in(tables["resource"]["county_code"].implode()))
    assert names.height == 157
    compact = text.replace(" ", "")
    missing = [n for n in names["county_name"].to_list() if n not in compact]
    assert missing == []
    fonts = subprocess.run(["pdffonts", str(out / "annual.pdf")], capture_output=True, text=True, check=True).stdout
    cjk = [ln for ln in fonts.splitlines() if "CJK" in ln]
    assert cjk and all(" yes " in ln for ln in cjk)  # embedded (emb = yes)


@pytest.mark.integration
def test_pages_rendered_to_png_are_not_blank(written, tmp_path):
    out, w = written
    pdf = out / "county" / f"{w['pdf'][1].stem}.pdf"
    subprocess.run(["pdftoppm", "-r", "30", "-gray", str(pdf), str(tmp_path / "p")], check=True)
    pages = sorted(tmp_path.glob("p-*.pgm"))
    assert len(pages) >= 2
    for p in pages:
        data = p.read_bytes()
        # PGM: header of three lines then one byte per pixel
        pixels = np.frombuffer(data.split(b"\n", 3)[3], dtype=np.uint8)
        assert (pixels < 200).mean() > 0.005, f"{p.name} looks blank"


@pytest.mark.integration
def test_the_pdf_has_charts_and_tables(written):
    out, w = written
    text = subprocess.run(["pdftotext", str(out / "annual.pdf"), "-"], capture_output=True, text=True).stdout
    for heading in ("主要发现", "监测基本情况", "学业表现", "体质健康", "优质均衡", "方法与数据说明", "达标率"):
        assert heading in text
    html = (out / "annual.html").read_text("utf-8")
    assert html.count("<svg") >= 3 and html.count("<table") >= 3


def test_same_inputs_same_html_bytes(report_inputs, tables):
    again = build(report_inputs)
    code = tables["resource"]["county_code"][5]
    assert county_html(tables, code) == county_html(again, code)
    html = county_html(tables, code)
    assert "test-v1" in html and ">3<" in html  # data version and seed in the appendix


def test_missing_parts_are_said_not_hidden(report_inputs):
    from dataclasses import replace

    tb = build(replace(report_inputs, scores=None, checklist=None))
    code = tb["resource"]["county_code"][0]
    html = county_html(tb, code)
    assert "本期未提供学业成绩" in html
    assert "未提供核查数据" in html


def test_school_sheet_shows_only_resources_and_participation(tables):
    code = tables["units"]["school_code"][0]
    html = school_html(tables, code)
    assert "资源配置指标" in html and "参测情况" in html
    assert "学业表现" not in html and "体质健康" not in html and "优良率" not in html
    with pytest.raises(ParameterError):
        school_html(tables, "0000000000")


def _bh(p):
    """Benjamini–Hochberg written out: reject the k smallest, k = max{i : p_(i) ≤ i α / m}."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    k = max([i + 1 for i, j in enumerate(order) if p[j] <= (i + 1) * 0.05 / len(p)], default=0)
    return {order[i] for i in range(k)}


def test_findings_call_a_gap_a_gap_only_when_t_test_and_bh_say_so(tables):
    from scipy import stats

    gaps = tables["gaps"].filter((pl.col("scope") == "province") & pl.col("estimate").is_not_null())
    rows = gaps.to_dicts()
    p = [2 * stats.t.sf(abs(r["estimate"] / r["se"]), r["df"]) for r in rows]
    called = _bh(p)  # the province page's gaps are one family
    text = "".join(findings_annual(tables))
    for i, r in enumerate(rows):
        assert bool(r["significant"]) == (i in called)
        said = f"{r['subject']}{GAP_WORDS[r['gap']]}"  # as listed among those not reported as differences
        if i not in called:
            assert said in text
        else:
            assert said not in text and f"{r['subject']}：" in text and "经检验差异显著" in text


def test_county_against_province_is_a_family_per_metric(tables):
    from scipy import stats

    vs = tables["vs_province"].filter(pl.col("metric") == "达标率")
    ok = vs.filter(pl.col("diff").is_not_null() & (pl.col("diff_se") > 0))
    p = [2 * stats.t.sf(abs(d / s), df) for d, s, df in ok.select("diff", "diff_se", "df").iter_rows()]
    assert ok["significant"].to_list() == [i in _bh(p) for i in range(len(p))]
    assert (ok["df"] >= 1).all() and (ok["df"] <= 80).all()


def test_print_version_lists_only_failing_units_html_lists_all(tables):
    units = tables["units"]
    by_county = units.group_by("county_code").agg(n=pl.len(), bad=(~pl.col("school_pass")).sum())
    code = by_county.filter(pl.col("bad") > 0).sort("n", descending=True)["county_code"][0]
    sub = units.filter(pl.col("county_code") == code)
    full = county_html(tables, code)
    short = county_html(tables, code, print_version=True)
    passing = sub.filter(pl.col("school_pass"))["school_code"].to_list()
    failing = sub.filter(~pl.col("school_pass"))["school_code"].to_list()
    assert all(c in full for c in passing + failing)
    assert all(c in short for c in failing)
    assert not any(c in short for c in passing if c not in failing)


@pytest.mark.integration
def test_the_style_sheet_reaches_the_pdf_unescaped(written):
    out, _ = written
    html = (out / "annual.html").read_text("utf-8")
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert '"Noto Serif CJK SC"' in style and "&#34;" not in style
    fonts = subprocess.run(["pdffonts", str(out / "annual.pdf")], capture_output=True, text=True, check=True).stdout
    assert "Serif" in fonts and "Sans" in fonts  # body in the serif face, headings in the sans face
    text = subprocess.run(["pdftotext", "-f", "2", "-l", "2", str(out / "annual.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert re.search(r"\b2 / \d+\b", text), "the page counter (2 / N) is missing"


@pytest.mark.integration
def test_chart_labels_reach_the_pdf_as_text(written):
    out, w = written
    text = subprocess.run(["pdftotext", str(w["pdf"][1]), "-"], capture_output=True, text=True, check=True).stdout
    assert "基准 500" in text and "待提高" in text and "小学·高学历教师" in text  # reference line, legend, CV bars


@pytest.mark.integration
def test_an_unchanged_pdf_is_kept_a_changed_or_missing_one_rendered(tables, tmp_path):
    codes = tables["resource"]["county_code"].to_list()[:2]
    first = write_reports(tables, tmp_path, counties=codes, annual=False, processes=1)
    assert first["reused"] == [] and len(first["pdf"]) == 2
    a, b = (tmp_path / "county" / f"{c}.pdf" for c in codes)
    stamp = a.stat().st_mtime_ns
    b.unlink()
    again = write_reports(tables, tmp_path, counties=codes, annual=False, processes=1, reuse=True)
    assert again["reused"] == [a] and b.exists() and a.stat().st_mtime_ns == stamp
    # a changed print HTML (here: a tampered digest) is rendered again; reuse=False renders everything
    book = tmp_path / ".pdf-digests.json"
    book.write_text(book.read_text("utf-8").replace('"county/' + codes[0] + '.pdf": "', '"county/'
                                                     + codes[0] + '.pdf": "0'), "utf-8")
    third = write_reports(tables, tmp_path, counties=codes, annual=False, processes=1, reuse=True)
    assert third["reused"] == [b]
    assert write_reports(tables, tmp_path, counties=codes, annual=False, processes=1)["reused"] == []


def test_year_on_year_compares_the_stored_previous_year_with_the_linking_error(report_inputs, tables):
    from dataclasses import replace

    sm = tables["score_mean"].filter(pl.col("scope") == "province")
    # the previous cycle's stored estimates: 10 points lower in 数学, the same elsewhere; SE 3
    previous = sm.select("scope", "unit", "subject", (pl.col("estimate") - pl.when(pl.col("subject") == "数学")
                                                      .then(10.0).otherwise(0.0)).alias("estimate"),
                         pl.lit(3.0).alias("se"), pl.lit(40.0).alias("df"))
    tb = build(replace(report_inputs, previous=previous, linking_error={"数学": 2.0}))
    row = tb["trend"].filter((pl.col("scope") == "province") & (pl.col("subject") == "数学")).row(0, named=True)
    cur = sm.filter(pl.col("subject") == "数学").row(0, named=True)
    assert row["difference"] == pytest.approx(10.0)
    assert row["se_difference"] == pytest.approx((cur["se"] ** 2 + 9 + 4) ** 0.5)
    html = annual_html(tb)
    assert "与上年相比" in html and "+10.0" in html and "链接误差" in html
    # without a previous cycle the report says so, and the levels are provisional without a panel's cuts
    assert "上年学业结果（与上年相比）" in tables.missing
    assert "暂定" in annual_html(tables)
    panel = {s: {"cuts": [410, 505, 590], "method": "bookmark", "label": "书签法（Bookmark），省专家组，2022-07-01，3 轮，12 位专家",
                 "provisional": False} for s in ("语文", "数学", "英语", "科学")}
    note = annual_html(build(replace(report_inputs, cut_scores=panel)))
    assert "书签法" in note and "410/505/590" in note and "标注“暂定”" not in note


def test_inputs_are_read_once_and_versioned_by_their_bytes(report_inputs, tmp_path, monkeypatch):
    """inputs_from_paths reads every input file once (its bytes feed the data version as they are
    read, then are parsed from memory: Polars never opens the path itself), and the version is the
    SHA-256 of the files' names and bytes in the documented order, computed here independently."""
    import hashlib
    import json
    from pathlib import Path

    from junheng.reports import inputs_from_paths

    files = {"schools": tmp_path / "schools.parquet", "weights": tmp_path / "weights.csv",
             "sample": tmp_path / "sample.parquet", "linking": tmp_path / "linking.json"}
    report_inputs.schools.write_parquet(files["schools"])
    report_inputs.weights.write_csv(files["weights"])
    report_inputs.sample.write_parquet(files["sample"])
    files["linking"].write_text(json.dumps({"数学": {"linking_error": 1.5}}), "utf-8")
    want = hashlib.sha256()
    for p in files.values():
        want.update(p.name.encode())
        want.update(p.read_bytes())
    reads: list[str] = []
    real = Path.read_bytes

    def counted(self):
        reads.append(self.name)
        return real(self)

    def no_path(real_reader):
        def reader(source, *a, **kw):
            assert not isinstance(source, str | Path), f"Polars opened {source} itself"
            return real_reader(source, *a, **kw)
        return reader

    monkeypatch.setattr(Path, "read_bytes", counted)
    monkeypatch.setattr(pl, "read_parquet", no_path(pl.read_parquet))
    monkeypatch.setattr(pl, "read_csv", no_path(pl.read_csv))
    inp = inputs_from_paths(**{k: str(v) for k, v in files.items()}, year=2022)
    assert sorted(reads) == sorted(p.name for p in files.values())  # each once
    assert inp.data_version == "sha256:" + want.hexdigest()[:16]
    assert inp.weights.height == report_inputs.weights.height and inp.linking_error == {"数学": 1.5}


def test_a_bad_json_input_is_an_input_error_naming_the_file(report_inputs, tmp_path):
    """Broken JSON (linking errors, cut scores, the report configuration) and a linking file of the
    wrong shape are InputErrors naming the file and, for the shape, every bad subject — not a
    JSONDecodeError or a KeyError from deep inside."""
    import json

    from junheng.exceptions import InputError
    from junheng.reports import inputs_from_paths

    schools = tmp_path / "schools.parquet"
    report_inputs.schools.write_parquet(schools)
    broken = tmp_path / "cuts.json"
    broken.write_text('{"数学": [420, 500,', "utf-8")
    for key in ("cut_scores", "linking", "config"):
        with pytest.raises(InputError, match="cuts.json") as e:
            inputs_from_paths(schools=str(schools), **{key: str(broken)})
        assert "JSON" in e.value.issues[0].rule_en and "JSON" in e.value.issues[0].rule_zh
    links = tmp_path / "linking.json"
    links.write_text(json.dumps({"数学": {"linking_error": 1.2}, "语文": {"anchors": []}, "英语": 3,
                                 "科学": {"linking_error": "x"}}), "utf-8")
    with pytest.raises(InputError) as e:
        inputs_from_paths(schools=str(schools), linking=str(links))
    assert sorted(i.column for i in e.value.issues) == ["科学", "英语", "语文"]
    assert all(i.file == "linking.json" for i in e.value.issues)


def test_chapters_are_numbered_from_the_section_list_and_the_findings_follow(tables, monkeypatch):
    """一、二、… are written from the order of junheng.reports.sections (附表 and 附录 unnumbered),
    and the findings' "见第五部分" points at the verdict chapter's number: a chapter inserted
    before it renumbers both."""
    from junheng.reports import render
    from junheng.reports import sections as rs

    v = tables["verdict"].filter(~pl.col("overall_pass"))
    code = v["county_code"][0]
    ctx = render.county_context(tables, code)
    assert [s["title"] for s in ctx["sections"] if s["level"] == 1] == [
        "一、主要发现", "二、监测基本情况", "三、与所在市、全省比较", "四、资源配置", "五、优质均衡判定", "附录　方法与数据说明"]
    assert any("（见第五部分）" in f for f in ctx["findings"])
    monkeypatch.setitem(rs.SECTIONS, "county", (rs.Section("preface", "说明"), *rs.SECTIONS["county"]))
    ctx = render.county_context(tables, code)
    assert "六、优质均衡判定" in [s["title"] for s in ctx["sections"]]
    assert any("（见第六部分）" in f for f in ctx["findings"]) and not any("第五部分" in f for f in ctx["findings"])
