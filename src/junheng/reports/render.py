"""Render the annual, county and school reports: one context dict per document (``*_context``), shown
as HTML by Jinja2 (the web version) and typeset as PDF by Typst (:mod:`.typeset`, Noto CJK fonts).

All tables are computed once (:func:`junheng.reports.tables.build`); every county's page reuses
them.  PDFs are rendered in ``processes`` worker processes (see :func:`write_reports`).  Nothing
time-dependent is written, so the same inputs give the same HTML bytes.
"""

from __future__ import annotations

import functools
import json
import multiprocessing
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import resources
from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup, escape

from junheng.exceptions import ParameterError
from junheng.indicators import RESOURCE_INDICATORS
from junheng.io import write_table
from junheng.reports import context as cx
from junheng.reports import sections as rs
from junheng.reports import typeset
from junheng.reports.tables import Tables


@functools.cache
def template_env(package: str) -> jinja2.Environment:
    """The autoescaping Jinja2 environment over ``<package>/templates`` (package data)."""
    root = resources.files(package) / "templates"
    return jinja2.Environment(loader=jinja2.FunctionLoader(lambda n: (root / n).read_text("utf-8")),
                              autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                              trim_blocks=True, lstrip_blocks=True)


@functools.cache
def stylesheet(package: str, name: str) -> Markup:
    """``<package>/templates/<name>`` as Markup: the style sheet is trusted package data; autoescaping
    it would turn its quotes into &#34; and WeasyPrint would drop every font-family and the page counter."""
    return Markup((resources.files(package) / "templates" / name).read_text("utf-8"))


def _env() -> jinja2.Environment:
    return template_env("junheng.reports")


def _css() -> Markup:
    return stylesheet("junheng.reports", "report.css")


def _meta(tb: Tables) -> dict:
    i = tb.inputs
    return {"data_version": i.data_version or "—", "seed": "—" if i.seed is None else i.seed,
            "software_version": i.software_version or "—", "year": i.year, "province": i.province_name}


def _cover(tb: Tables) -> dict:
    """文号, date and issuing office of the cover; an unset 文号 or date is a marked placeholder."""
    i = tb.inputs
    return {"doc_number": i.doc_number or "〔文号待定〕", "doc_number_set": bool(i.doc_number),
            "date": i.issue_date or "〔日期待定〕", "date_set": bool(i.issue_date),
            "issuer": i.issuer or f"{i.province_name}人民政府教育督导委员会办公室"}


def _sample(tb: Tables, county: str | None = None) -> dict:
    s = tb.get("sample_county")
    if s is None:
        return {"n_schools": "—", "n_pupils": "—", "n_responded": "—", "rate": "—"}
    if county:
        s = s.filter(pl.col("county_code") == county)
    n_p, n_r = int(s["n_pupils"].sum()), int(s["n_responded"].sum())
    return {"n_schools": int(s["n_schools"].sum()), "n_pupils": n_p, "n_responded": n_r,
            "rate": cx._pct(n_r / n_p) if n_p else "—"}


def _names(tb: Tables) -> dict[str, dict]:
    return {r["county_code"]: r for r in tb.inputs.names.to_dicts()}


def _with_sections(ctx: dict) -> dict:
    """The context with its document's sections (:func:`junheng.reports.sections.sections`)."""
    return {**ctx, "sections": rs.sections(ctx)}


def annual_context(tb: Tables) -> dict:
    """Everything the annual report shows (the HTML and the PDF render this one dict)."""
    names = _names(tb)
    res = tb["resource"]
    v = tb.get("verdict")
    vrows = {r["county_code"]: r for r in v.to_dicts()} if v is not None else {}
    counties = []
    for r in res.to_dicts():
        vr = vrows.get(r["county_code"], {})
        counties.append({
            "name": names.get(r["county_code"], {}).get("county_name", r["county_code"]), "code": r["county_code"],
            "units": f"{r['n_units_pass']}/{r['n_units']}", "cvp": cx._num(r["max_cv_primary"], 2),
            "cvj": cx._num(r["max_cv_junior"], 2), "res": r["resource_pass"],
            "gov": f"{vr['gov_met']}/15" if vr else "—", "qual": f"{vr['quality_met']}/9" if vr else "—",
            "rec": cx._pct(vr.get("recognition")), "pass": bool(vr.get("overall_pass")),
            "change": vr.get("change", "—"),
        })
    return _with_sections(dict(
        kind="annual", title=f"{tb.inputs.province_name}义务教育质量与优质均衡发展监测报告（{tb.inputs.year}年）",
        meta=_meta(tb), methods=cx.methods(), cover=_cover(tb), findings=cx.findings_annual(tb), findings_note=cx.FINDINGS_NOTE,
        sample=_sample(tb), n_counties=res.height, academic=cx.academic_block(tb, "province", "410000"),
        fitness=cx.fitness_block(tb, "province", "410000"), factors=cx.factors_block(tb), counties=counties,
        se_table=cx.county_se_table(tb), supervision=None,  # integration point: cycles' site records
        missing=tb.missing))


def county_context(tb: Tables, code: str, *, print_version: bool = False) -> dict:
    """Everything a county report shows. The print version (for the PDF) lists only the failing
    school units; the HTML version lists every unit (a county has up to ~200, a dozen pages in print)."""
    names = _names(tb)
    if code not in names or tb["resource"].filter(pl.col("county_code") == code).height == 0:
        raise ParameterError(f"无此县（市、区）或其无学校数据 / unknown county or no schools: {code}")
    n = names[code]
    return _with_sections(dict(
        kind="county", title=f"{n['county_name']}义务教育质量与优质均衡发展监测报告（{tb.inputs.year}年）",
        county_name=n["county_name"], meta=_meta(tb), methods=cx.methods(), cover=_cover(tb), code=code, city_name=n.get("city_name") or "",
        sample=_sample(tb, code), findings=cx.findings_county(tb, code, n["city_code"], n["county_name"]),
        findings_note=cx.FINDINGS_NOTE, compare_note=cx.COMPARE_NOTE, compare=cx.compare_rows(tb, code, n["city_code"]),
        factor_rows=cx.factor_compare_rows(tb, code, n["city_code"]),
        academic=cx.academic_block(tb, "county", code), fitness=cx.fitness_block(tb, "county", code),
        resource=cx.resource_block(tb, code), schools=cx.school_rows(tb, county=code),
        ind_short=list(cx.IND_SHORT.values()), verdict=cx.verdict_row(tb, code), missing=tb.missing,
        print=print_version))


def school_context(tb: Tables, code: str) -> dict:
    """Everything a school sheet shows (resource indicators and participation only)."""
    rows = cx.school_rows(tb, school=code)
    if not rows:
        raise ParameterError(f"无此学校或不在评估范围内 / unknown school or out of scope: {code}")
    u = tb["units"].filter(pl.col("school_code") == code)
    detail = []
    for r in u.to_dicts():
        for ind in RESOURCE_INDICATORS:
            detail.append({"name": f"{r['level']}·{ind.name}（{ind.unit}）", "v": cx._num(r[ind.id], 2),
                           "std": f"{r[ind.id + '_std']:g}", "ratio": cx._pct(r[ind.id + "_ratio"], 0),
                           "ok": r[ind.id + "_met"]})
    county = u["county_code"][0]
    part = None
    w = tb.inputs.weights
    if w is not None and "school_code" in w.columns:
        s = w.filter(pl.col("school_code") == code)
        if s.height:
            resp = int(s["responded"].fill_null(False).sum()) if "responded" in s.columns else s.height
            part = {"n_pupils": s.height, "n_responded": resp, "rate": cx._pct(resp / s.height)}
    name = rows[0]["name"] or code
    return _with_sections(dict(
        kind="school", title=f"{name}　学校监测简表（{tb.inputs.year}年）", meta=_meta(tb), methods=cx.methods(), cover=_cover(tb),
        code=code, county_name=_names(tb).get(county, {}).get("county_name", county), schools=rows,
        ind_short=list(cx.IND_SHORT.values()), detail=detail, participation=part, missing=tb.missing))


def contents_html(shown: list[dict]) -> Markup:
    """The HTML 目录: a link to the heading of every section shown (:mod:`.sections`) except the
    web-only ones, sections nested under their chapter — the entries of the PDF's 目录."""
    items, open_sub = [], False
    for s in shown:
        if s["web_only"]:
            continue
        if s["level"] == 1 and open_sub:
            items.append("</ul></li>")
            open_sub = False
        elif s["level"] == 2 and not open_sub:
            items[-1] = items[-1].removesuffix("</li>") + "<ul>" if items else "<li><ul>"
            open_sub = True
        items.append(f'<li><a href="#{s["id"]}">{escape(s["title"])}</a></li>')
    if open_sub:
        items.append("</ul></li>")
    return Markup(f'<nav class="toc" aria-label="目录"><p class="toc-title">目录</p><ul>{"".join(items)}</ul></nav>')


def _html(ctx: dict) -> str:
    """The HTML of a document: its sections (:mod:`.sections`; the print version without the
    web-only ones) in ``layout.html``, each filled by its block in ``<kind>.html``."""
    shown = rs.shown(ctx, print_version=bool(ctx.get("print")))
    contents = contents_html(shown) if rs.CONTENTS[ctx["kind"]] else ""
    return _env().get_template(f"{ctx['kind']}.html").render(**ctx, css=_css(), shown=shown, contents=contents)


def annual_html(tb: Tables) -> str:
    return _html(annual_context(tb))


def county_html(tb: Tables, code: str, *, print_version: bool = False) -> str:
    return _html(county_context(tb, code, print_version=print_version))


def school_html(tb: Tables, code: str) -> str:
    return _html(school_context(tb, code))


def school_pdf(tb: Tables, code: str, path: str | Path) -> str:
    """One school's sheet as PDF (Typst)."""
    Path(path).write_bytes(typeset.pdf(typeset.data(school_context(tb, code))))
    return str(path)


def html_to_pdf(html: str, path: str | Path) -> str:
    """One HTML string to a PDF file (WeasyPrint; fonts from fontconfig: Noto Serif/Sans CJK SC)."""
    import weasyprint

    weasyprint.HTML(string=html, base_url=".").write_pdf(str(path))
    return str(path)


def _pdf_job(args: tuple[str, str]) -> str:
    data, pdf_path = args
    Path(pdf_path).write_bytes(typeset.pdf(data))
    return pdf_path


DIGESTS = ".pdf-digests.json"  # under the output folder: PDF path → digest of what it was rendered from


def write_reports(tb: Tables, out: str | Path, *, counties: list[str] | None = None, annual: bool = True,
                  pdf: bool = True, processes: int = 2, reuse: bool = False, progress=None) -> dict[str, list[Path]]:
    """Write ``annual.{html,pdf}`` and ``county/<code>.{html,pdf}`` under ``out``, and with the
    annual report ``verdicts.csv`` (:func:`junheng.indicators.verdicts_table`).

    ``counties`` defaults to every county with schools.  The HTML (Jinja2) is the full web version;
    the PDF is typeset by Typst (:mod:`.typeset`) from the same context, in its print version.  PDFs
    are rendered in ``processes`` worker processes, started before the HTML is built so rendering
    overlaps it; the annual report (the longest) goes first.  With ``reuse``, a PDF whose data and
    templates are byte-identical to those it was last rendered from (digests in ``out/.pdf-digests.json``) and which still exists is kept, not
    rendered again; ``written["reused"]`` lists those.  ``progress`` (optional) is called with the
    number of documents finished.  Returns the paths written, by kind.
    """
    out = Path(out)
    (out / "county").mkdir(parents=True, exist_ok=True)
    codes = counties if counties is not None else tb["resource"]["county_code"].to_list()
    written: dict[str, list[Path]] = {"html": [], "pdf": [], "reused": []}
    book = out / DIGESTS
    try:
        old = json.loads(book.read_text("utf-8")) if book.exists() else {}
    except (OSError, ValueError):
        old = {}
    digests = dict(old)

    def documents():
        if annual:
            p = out / "annual.html"
            ctx = annual_context(tb)
            p.write_text(_html(ctx), "utf-8")
            written["html"].append(p)
            yield ctx, out / "annual.pdf"
        for code in codes:
            p = out / "county" / f"{code}.html"
            ctx = county_context(tb, code)
            p.write_text(_html(ctx), "utf-8")
            written["html"].append(p)
            yield {**ctx, "print": True}, out / "county" / f"{code}.pdf"

    def done(path: Path, digest: str) -> None:
        written["pdf"].append(path)
        digests[path.relative_to(out).as_posix()] = digest
        if progress:
            progress(1)

    # spawned, not forked: a fork of a process whose Typst compiler has started its threads can deadlock
    pool = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("spawn")) \
        if pdf and processes > 1 else None
    try:
        pending = []
        for ctx, path in documents():
            if not pdf:
                continue
            data = typeset.data(ctx)
            digest = typeset.digest(data)
            key = path.relative_to(out).as_posix()
            if reuse and old.get(key) == digest and path.exists():
                written["reused"].append(path)
                done(path, digest)
            elif pool is not None:
                pending.append((pool.submit(_pdf_job, (data, str(path))), path, digest))
            else:
                _pdf_job((data, str(path)))
                done(path, digest)
        for future in as_completed([f for f, _, _ in pending]):
            future.result()
            _, path, digest = next(x for x in pending if x[0] is future)
            done(path, digest)
    finally:
        if pool is not None:
            pool.shutdown(cancel_futures=True)
    if pdf:
        tmp = book.with_suffix(".tmp")
        tmp.write_text(json.dumps(digests, ensure_ascii=False, indent=0, sort_keys=True), "utf-8")
        tmp.replace(book)
    written["pdf"].sort(key=lambda p: (p.parent != out, p.name))
    if annual and tb.get("verdict") is not None:  # the published verdicts, for others to check
        from junheng.indicators import verdicts_table

        p = out / "verdicts.csv"
        write_table(verdicts_table(tb["verdict"]), p, encoding="utf-8")
        written.setdefault("csv", []).append(p)
    return written
