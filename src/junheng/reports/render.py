"""Render the annual, county and school reports: Jinja2 HTML → WeasyPrint PDF (Noto CJK fonts).

All tables are computed once (:func:`junheng.reports.tables.build`); every county's page reuses
them.  PDFs are rendered in ``processes`` worker processes (see :func:`write_reports`).  Nothing
time-dependent is written, so the same inputs give the same HTML bytes.
"""

from __future__ import annotations

import functools
import hashlib
import json
from concurrent.futures import ProcessPoolExecutor, as_completed
from importlib import resources
from pathlib import Path

import jinja2
import polars as pl
from markupsafe import Markup

from junheng.exceptions import ParameterError
from junheng.indicators import RESOURCE_INDICATORS
from junheng.io import write_table
from junheng.reports import context as cx
from junheng.reports.tables import Tables

IND_SHORT = ["高学历教师", "骨干教师", "体艺教师", "教学用房", "运动场馆", "仪器设备", "多媒体教室"]


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


def annual_html(tb: Tables) -> str:
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
    return _env().get_template("annual.html").render(
        title=f"{tb.inputs.province_name}义务教育质量与优质均衡发展监测报告（{tb.inputs.year}年）",
        css=_css(), meta=_meta(tb), findings=cx.findings_annual(tb), sample=_sample(tb),
        n_counties=res.height, academic=cx.academic_block(tb, "province", "410000"),
        fitness=cx.fitness_block(tb, "province", "410000"), factors=cx.factors_block(tb), counties=counties,
        se_table=cx.county_se_table(tb), supervision=None,  # integration point: cycles' site records
        missing=tb.missing)


def county_html(tb: Tables, code: str, *, print_version: bool = False) -> str:
    """The county report. The print version (for the PDF) lists only the failing school units;
    the HTML version lists every unit (a county has up to ~200, a dozen pages in print)."""
    names = _names(tb)
    if code not in names or tb["resource"].filter(pl.col("county_code") == code).height == 0:
        raise ParameterError(f"无此县（市、区）或其无学校数据 / unknown county or no schools: {code}")
    n = names[code]
    return _env().get_template("county.html").render(
        title=f"{n['county_name']}义务教育质量与优质均衡发展监测报告（{tb.inputs.year}年）", css=_css(),
        meta=_meta(tb), code=code, city_name=n.get("city_name") or "", sample=_sample(tb, code),
        findings=cx.findings_county(tb, code, n["city_code"], n["county_name"]),
        compare=cx.compare_rows(tb, code, n["city_code"]), factor_rows=cx.factor_compare_rows(tb, code, n["city_code"]),
        academic=cx.academic_block(tb, "county", code), fitness=cx.fitness_block(tb, "county", code),
        resource=cx.resource_block(tb, code), schools=cx.school_rows(tb, county=code), ind_short=IND_SHORT,
        verdict=cx.verdict_row(tb, code), missing=tb.missing, print=print_version)


def school_html(tb: Tables, code: str) -> str:
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
    return _env().get_template("school.html").render(
        title=f"{name}　学校监测简表（{tb.inputs.year}年）", css=_css(), meta=_meta(tb), code=code,
        county_name=_names(tb).get(county, {}).get("county_name", county), schools=rows, ind_short=IND_SHORT,
        detail=detail, participation=part, missing=tb.missing)


def html_to_pdf(html: str, path: str | Path) -> str:
    """One HTML string to a PDF file (WeasyPrint; fonts from fontconfig: Noto Serif/Sans CJK SC)."""
    import weasyprint

    weasyprint.HTML(string=html, base_url=".").write_pdf(str(path))
    return str(path)


def _pdf_job(args: tuple[str, str]) -> str:
    html, pdf_path = args
    return html_to_pdf(html, pdf_path)


DIGESTS = ".pdf-digests.json"  # under the output folder: PDF path → digest of what it was rendered from


def _digest(html: str) -> str:
    """What a PDF depends on: its print HTML (style sheet inline) and the renderer's version."""
    import weasyprint

    return hashlib.sha256(f"weasyprint {weasyprint.__version__}\n{html}".encode()).hexdigest()


def write_reports(tb: Tables, out: str | Path, *, counties: list[str] | None = None, annual: bool = True,
                  pdf: bool = True, processes: int = 2, reuse: bool = False, progress=None) -> dict[str, list[Path]]:
    """Write ``annual.{html,pdf}`` and ``county/<code>.{html,pdf}`` under ``out``, and with the
    annual report ``verdicts.csv`` (:func:`junheng.indicators.verdicts_table`).

    ``counties`` defaults to every county with schools.  PDFs are rendered in ``processes`` worker
    processes, started before the HTML is built so rendering overlaps it; the annual report (the
    longest) goes first.  With ``reuse``, a PDF whose print HTML is byte-identical to the one it was
    last rendered from (digests in ``out/.pdf-digests.json``) and which still exists is kept, not
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
            html = annual_html(tb)
            p.write_text(html, "utf-8")
            written["html"].append(p)
            yield html, out / "annual.pdf"
        for code in codes:
            p = out / "county" / f"{code}.html"
            p.write_text(county_html(tb, code), "utf-8")
            written["html"].append(p)
            yield county_html(tb, code, print_version=True), out / "county" / f"{code}.pdf"

    def done(path: Path, digest: str) -> None:
        written["pdf"].append(path)
        digests[path.relative_to(out).as_posix()] = digest
        if progress:
            progress(1)

    pool = ProcessPoolExecutor(processes) if pdf and processes > 1 else None
    try:
        pending = []
        for html, path in documents():
            if not pdf:
                continue
            digest = _digest(html)
            key = path.relative_to(out).as_posix()
            if reuse and old.get(key) == digest and path.exists():
                written["reused"].append(path)
                done(path, digest)
            elif pool is not None:
                pending.append((pool.submit(_pdf_job, (html, str(path))), path, digest))
            else:
                _pdf_job((html, str(path)))
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
