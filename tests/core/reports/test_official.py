"""#17 point 9: the PDF reports read as official documents.

The cover carries the configured 文号 and date (a marked placeholder when unset), the 目录 gives
each chapter's true page, indicators are named (no R1…R7 codes), no stretched spaces open around
numbers, no page holds only a note, and no table cell is wider than its column.  Page images
of the annual report, a county report and a school sheet are kept under
test-artifacts/reports/ for a person to look at.  Also: the Typst PDF shows the same numbers as
the print HTML (which WeasyPrint rendered before).
"""

from __future__ import annotations

import html as htmllib
import re
import shutil
import subprocess
from collections import Counter
from dataclasses import replace
from pathlib import Path

import polars as pl
import pytest

from junheng.reports import build, render, typeset

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(shutil.which("pdftotext") is None, reason="poppler-utils not installed")]

ARTIFACTS = Path(__file__).resolve().parents[3] / "test-artifacts" / "reports"
DOC_NUMBER, DATE = "豫教督办〔2023〕5号", "2023年6月30日"


def _county_with_failing_schools(tb) -> str:
    units = tb["units"].group_by("county_code").agg(bad=(~pl.col("school_pass")).sum(), n=pl.len())
    return units.filter(pl.col("bad") > 0).sort(["bad", "n", "county_code"], descending=[True, True, False])[
        "county_code"][0]


@pytest.fixture(scope="module")
def official(report_inputs, tmp_path_factory):
    """The annual report, a county report and a school sheet with a configured cover, as PDFs."""
    tb = build(replace(report_inputs, doc_number=DOC_NUMBER, issue_date=DATE))
    out = tmp_path_factory.mktemp("official")
    county = _county_with_failing_schools(tb)
    school = tb["units"].filter(pl.col("county_code") == county)["school_code"][0]
    ctx = {"annual": render.annual_context(tb), "county": {**render.county_context(tb, county), "print": True},
           "school": render.school_context(tb, school)}
    data = {k: typeset.data(c) for k, c in ctx.items()}
    pdfs = {}
    for k, d in data.items():
        pdfs[k] = out / f"{k}.pdf"
        pdfs[k].write_bytes(typeset.pdf(d))
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for k, p in pdfs.items():
        for old in ARTIFACTS.glob(f"{k}-*.png"):
            old.unlink()
        subprocess.run(["pdftoppm", "-r", "80", "-png", str(p), str(ARTIFACTS / k)], check=True)
    return tb, county, data, pdfs


def _pages(pdf: Path) -> list[str]:
    """Each page's text (pdftotext -layout)."""
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _compact(s: str) -> str:
    return re.sub(r"\s+", "", s)


def test_the_cover_carries_the_doc_number_and_date(official, report_inputs):
    _, _, _, pdfs = official
    for k in ("annual", "county", "school"):
        first = _compact(_pages(pdfs[k])[0])
        assert DOC_NUMBER in first and DATE in first, k
        assert "草稿" not in first
    # unset: a marked placeholder, not an empty line
    d = typeset.data(render.annual_context(build(replace(report_inputs, checklist=None))))
    text = subprocess.run(["pdftotext", "-l", "1", "-", "-"], input=typeset.pdf(d), capture_output=True,
                          check=True).stdout.decode()
    assert "文号待定" in _compact(text) and "日期待定" in _compact(text) and "草稿" in text


def test_the_contents_lists_every_chapter_on_its_page(official):
    _, _, _, pdfs = official
    for k, chapters in (("annual", ["一、主要发现", "二、监测基本情况", "三、学业表现", "四、体质健康", "五、相关因素",
                                    "六、优质均衡发展", "附表", "附录"]),
                        ("county", ["一、主要发现", "二、监测基本情况", "三、与所在市、全省比较", "学业表现", "体质健康",
                                    "相关因素", "四、资源配置", "五、优质均衡判定", "附录"])):
        pages = _pages(pdfs[k])
        leader = r"(?:\.\s*){3,}\W*(\d+)\s*$"  # dot leaders, then the page number
        toc = [ln for ln in pages[1].splitlines() if re.search(leader, ln)]
        assert "目录" in _compact(pages[1])
        entries = [(_compact(re.split(r"(?:\.\s*){3,}", ln)[0]), int(re.search(leader, ln)[1])) for ln in toc]
        for ch in chapters:
            hit = [(t, n) for t, n in entries if t.startswith(ch)]
            assert hit, f"{k}: {ch} not in the 目录"
            title, page = hit[0]
            body = [_compact(ln) for ln in pages[page - 1].splitlines()]
            assert any(ln.startswith(title) for ln in body), f"{k}: {title} is not on page {page}"


def test_no_indicator_codes_in_the_text(official):
    _, _, _, pdfs = official
    for k, p in pdfs.items():
        text = "\n".join(_pages(p))
        assert not re.search(r"(?<![A-Za-z0-9])R[1-7](?![0-9])", text), k
        assert not re.search(r"(?<![A-Za-z0-9])[GQ]\d{1,2}(?![0-9])", text), k  # checklist items by number
    assert "生均教学及辅助用房面积" in "".join(_pages(pdfs["county"]))


def test_no_table_cell_is_wider_than_its_column(official):
    _, _, data, _ = official
    for k, d in data.items():
        cells = typeset.cell_fits(d)
        assert len(cells) > 50, k
        bad = [c for c in cells if c["kind"] in ("num", "head", "keep") and c["nat"] > c["have"] + 0.5]
        assert bad == [], f"{k}: {[(c['text'][-40:], round(c['nat']), round(c['have'])) for c in bad]}"


def test_the_cell_check_catches_an_overflow(official):
    """The check above can fail: a county name far too long for its column is reported."""
    tb, county, data, _ = official
    ctx = render.annual_context(tb)
    ctx["counties"][0]["name"] = "一个名称长得放不进这一列的县级行政单位"
    cells = typeset.cell_fits(typeset.data(ctx))
    assert [c for c in cells if c["kind"] == "num" and c["nat"] > c["have"] + 0.5]


def _word_gaps(pdf: Path) -> list[float]:
    """Gaps beside a number between neighbouring words of body text (10.5 pt lines; tables and
    notes are smaller)."""
    xml = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    lines: dict[tuple, list] = {}
    for page, text in enumerate(xml.split("<page ")[1:]):
        for m in re.finditer(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)<', text):
            w = (*(float(x) for x in m.groups()[:4]), m[5])
            if 9.5 <= w[3] - w[1] <= 12.5:
                lines.setdefault((page, round(w[3], 0)), []).append(w)
    gaps = []
    for ws in lines.values():
        ws = sorted(ws)
        for a, b in zip(ws, ws[1:]):
            if b[0] > a[2] and (re.search(r"\d%?$", a[4]) or re.match(r"[-+]?\d", b[4])):
                gaps.append(b[0] - a[2])
    return gaps


def test_no_stretched_spaces_around_numbers(official):
    _, _, _, pdfs = official
    gaps = _word_gaps(pdfs["annual"]) + _word_gaps(pdfs["county"])
    assert len(gaps) > 30
    assert max(gaps) < 6.0, sorted(gaps)[-5:]  # a space in 10.5 pt is about 2.6 pt; justified Latin would stretch it


def test_no_page_holds_only_a_note(official):
    _, _, _, pdfs = official
    for k, p in pdfs.items():
        pages = _pages(p)
        for i, page in enumerate(pages[1:], start=2):
            lines = [ln for ln in page.splitlines() if ln.strip()]
            body = lines[1:-1]  # without the running title and the page number
            assert len(body) >= 4, f"{k} page {i} holds only: {body}"


def _numbers(text: str) -> Counter:
    return Counter(re.findall(r"[-+]?\d+\.\d+%?", text))


def test_the_pdf_shows_the_numbers_of_the_print_html(official):
    """Typst replaced WeasyPrint for the PDFs: the same decimals (estimates, SEs, CVs, shares)."""
    tb, county, _, pdfs = official
    for k, html in (("annual", render.annual_html(tb)), ("county", render.county_html(tb, county, print_version=True))):
        html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
        want = _numbers(htmllib.unescape(re.sub(r"<[^>]+>", " ", html)))
        got = _numbers(subprocess.run(["pdftotext", str(pdfs[k]), "-"], capture_output=True, text=True,
                                      check=True).stdout)
        assert want and got == want, (k, (want - got).most_common(5), (got - want).most_common(5))


def test_an_unknown_verdict_is_typeset_as_a_dash(official):
    """A verdict the data cannot give (a CV over too few schools, a school indicator without its
    standard: ``None``) typesets as "—" or the bare value; Typst refused ``if none`` and the demo's
    small-scale reports stopped there."""
    tb, county, _, _ = official
    ctx = {**render.county_context(tb, county), "print": True}
    for r in ctx["resource"]["cv_rows"]:
        r["ok"] = None
    for row in ctx["schools"]:
        for v in row["vals"]:
            v["ok"] = None
    before = _compact("".join(_pages_of(typeset.pdf(typeset.data({**render.county_context(tb, county), "print": True})))))
    after = _compact("".join(_pages_of(typeset.pdf(typeset.data(ctx)))))
    assert after.count("—") >= before.count("—") + len(ctx["resource"]["cv_rows"]) > before.count("—")


def _pages_of(pdf: bytes) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True, check=True).stdout
    return text.decode().split("\f")[:-1]


def _pdf_toc(pdf: Path) -> list[str]:
    """The titles the PDF's 目录 page lists (a title wrapped over two lines is joined)."""
    lines = _pages(pdf)[1].splitlines()
    titles, pending = [], ""
    for ln in lines[[i for i, ln in enumerate(lines) if _compact(ln) == "目录"][0] + 1:]:
        if re.search(r"(?:\.\s*){3,}\W*\d+\s*$", ln):
            titles.append(pending + _compact(re.split(r"(?:\.\s*){3,}", ln)[0]))
            pending = ""
        elif _compact(ln):
            pending += _compact(ln)
    return titles


def _html_toc(html: str) -> tuple[list[str], list[str]]:
    """The HTML 目录's entry texts and link targets."""
    nav = re.search(r'<nav class="toc"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "no 目录 in the HTML"
    links = re.findall(r'<a href="#([^"]+)">(.*?)</a>', nav[1], re.S)
    return [_compact(htmllib.unescape(t)) for _, t in links], [i for i, _ in links]


def test_the_html_contents_lists_the_pdf_chapters_and_links_to_them(official):
    """The web versions carry the same 目录 as the PDFs: the same titles in the same order, each a
    link to an id that exists exactly once (the county's web-only list of all schools has an id but
    no entry, as the PDF has no such section)."""
    tb, county, _, pdfs = official
    for k, htmls in (("annual", [render.annual_html(tb)]),
                     ("county", [render.county_html(tb, county, print_version=True), render.county_html(tb, county)])):
        want = _pdf_toc(pdfs[k])
        assert len(want) >= 8 and "目录" in _compact(_pages(pdfs[k])[1]), (k, want)
        for html in htmls:
            titles, targets = _html_toc(html)
            assert titles == want, (k, titles, want)
            ids = Counter(re.findall(r'\bid="([^"]+)"', html))
            assert all(ids[t] == 1 for t in targets), (k, [t for t in targets if ids[t] != 1])
            assert len(set(targets)) == len(targets)
            assert html.index('<nav class="toc"') < html.index(f'id="{targets[0]}"')  # near the top
    assert "全部学校（学部）" in render.county_html(tb, county)  # the web-only section is still there
    # the cover block (文号 and date) heads the HTML as it heads the PDF
    for html in (render.annual_html(tb), render.county_html(tb, county)):
        top = html[:html.index('<nav class="toc"')]
        assert DOC_NUMBER in top and DATE in top


def test_both_renderers_follow_the_one_section_list(official):
    """The headings of the HTML (web and print) and the entries of the PDF's 目录 are the section
    list of junheng.reports.sections, in its order, with its ids (sec-N, sec-N-M; the web-only
    all-schools list: an id, no 目录 entry, absent from print)."""
    from junheng.reports import sections as rs

    tb, county, _, pdfs = official
    for k, ctx, htmls in (("annual", render.annual_context(tb), [render.annual_html(tb)]),
                          ("county", render.county_context(tb, county),
                           [render.county_html(tb, county, print_version=True), render.county_html(tb, county)])):
        listed = [s for s in ctx["sections"] if not s["web_only"]]
        assert [_compact(s["title"]) for s in listed] == _pdf_toc(pdfs[k]), k
        for html in htmls:
            web = "全部学校（学部）</h3>" in html
            heads = re.findall(r'<h([23]) id="([^"]+)"[^>]*>(.*?)</h\1>', html)
            want = [s for s in ctx["sections"] if web or not s["web_only"]]
            assert [(int(lv), i, t) for lv, i, t in heads] == [(s["level"] + 1, s["id"], s["title"]) for s in want]
            titles, targets = _html_toc(html)
            assert targets == [s["id"] for s in listed]
    county_ids = {s["key"]: s["id"] for s in rs.sections({"kind": "county"})}
    assert county_ids["compare"] == "sec-3" and county_ids["academic"] == "sec-3-1"
    assert county_ids["all_schools"] == "sec-4-2" and county_ids["verdict"] == "sec-5"


def test_a_section_without_a_body_stops_both_renderers(official, monkeypatch):
    """A section added to the list must be given a body in the HTML and in the PDF template: a key
    either lacks is an error in that renderer, not a heading over nothing or a silent omission."""
    from junheng.reports import sections as rs

    tb, county, _, _ = official
    school = tb["units"].filter(pl.col("county_code") == county)["school_code"][0]
    monkeypatch.setitem(rs.SECTIONS, "school", (*rs.SECTIONS["school"][:2], rs.Section("extra", "另一节"),
                                                rs.APPENDIX))
    ctx = render.school_context(tb, school)
    assert [s["title"] for s in ctx["sections"]][2] == "三、另一节"
    with pytest.raises(Exception, match="extra"):
        render.school_html(tb, school)
    with pytest.raises(Exception, match="extra"):
        typeset.pdf(typeset.data(ctx))
