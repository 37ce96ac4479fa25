"""From :class:`~junheng.reports.tables.Tables` to the plain values the templates show, and the
主要发现 sentences, each written only when the numbers support it.

Rules for 主要发现 (docs/methods/inference.md): a difference between two groups or between a
county and the province is called a difference only when its t test, with the design's degrees
of freedom, is significant after Benjamini–Hochberg adjustment within its family of comparisons
(α = 0.05; ``junheng.survey.inference``).  The SE of a sex or location gap is the replicate SE of
the difference (covariance included, ``survey.difference``); county − province is differenced
replicate by replicate (part–whole, ``survey.versus_total``).  Families: all counties against
the province for one indicator; one gap in one subject across the counties; the gaps of the
annual report's page; every 相关因素 gap.  Suppressed estimates (reporting rule) are shown as "—"
and never enter a sentence.

One module on purpose (over 400 lines): every sentence of 主要发现 and the rule that allows it
sit together, so the wording and the inference behind it cannot drift apart.
"""

from __future__ import annotations

import math
import re

import polars as pl

from junheng.indicators import RESOURCE_INDICATORS
from junheng.reports import charts
from junheng.reports.sections import chapter
from junheng.reports.tables import SUBJECTS, Tables

LEVEL_NAMES = ["待提高", "中等", "良好", "优秀"]
FIT_METRICS = ["达标率", "优良率", "视力不良率", "肥胖率", "超重率", "低体重率"]
IND_NAMES = {i.id: i.name for i in RESOURCE_INDICATORS}
IND_UNITS = {i.id: i.unit for i in RESOURCE_INDICATORS}
# short names for table heads and chart labels (same order as RESOURCE_INDICATORS: R1…R7)
IND_SHORT = dict(zip(IND_NAMES, ["高学历教师", "骨干教师", "体艺教师", "教学用房", "运动场馆", "仪器设备", "多媒体教室"],
                     strict=True))
def methods() -> list[str]:
    """The methods appendix, one paragraph a line (``templates/methods.txt``: one text for the HTML and the PDF)."""
    from importlib import resources

    text = (resources.files("junheng.reports") / "templates" / "methods.txt").read_text("utf-8")
    return [line for line in text.splitlines() if line.strip()]


GAP_WORDS = {"女−男": "男女生", "城区−乡村": "城乡学生"}  # a gap as named in the findings


def plain(text: str) -> str:
    """Codes in a sentence for a reader: ``小学:R1`` → 小学“<indicator name>”, ``G3``/``Q9`` → 第 3/9 项."""
    text = re.sub(r"(小学|初中):(R[1-7])", lambda m: f"{m[1]}“{IND_NAMES[m[2]]}”", text)
    text = re.sub(r"\b(R[1-7])\b", lambda m: f"“{IND_NAMES[m[1]]}”", text)
    return re.sub(r"(政府保障程度|教育质量) ?[GQ](\d+)", r"\1第 \2 项", text)


def _num(v, d=1):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v:.{d}f}"


def _pct(v, d=1):
    return "—" if v is None or (isinstance(v, float) and math.isnan(v)) else f"{v * 100:.{d}f}%"


_INDEX: dict[tuple[int, tuple[str, ...]], tuple[pl.DataFrame, dict]] = {}


def _rows(df: pl.DataFrame | None, **eq) -> list[dict]:
    """Rows of ``df`` whose columns equal ``eq``: a hash index per (frame, key columns) built once,
    so the 157 county pages do not filter the tables thousands of times. The index keeps a
    reference to its frame, so a frame's id cannot be reused while its index exists."""
    if df is None:
        return []
    keys = tuple(sorted(eq))
    slot = (id(df), keys)
    hit = _INDEX.get(slot)
    if hit is None or hit[0] is not df:
        index: dict[tuple, list[dict]] = {}
        for row in df.to_dicts():
            index.setdefault(tuple(row.get(k) for k in keys), []).append(row)
        hit = _INDEX[slot] = (df, index)
    return hit[1].get(tuple(eq[k] for k in keys), [])


def _one(df, **eq) -> dict | None:
    r = _rows(df, **eq)
    return r[0] if r else None


def _significant(row: dict | None) -> bool:
    """The comparison's verdict (t test with the design df, BH-adjusted within its family)."""
    return bool(row and row.get("significant"))


# 主要发现 is written for a county official: the words below; the statistics behind them are
# in FINDINGS_NOTE (printed under the findings) and in the methods appendix.
TESTED = "经检验差异显著"
NOT_TESTED = "差异在抽样误差范围内"
FINDINGS_NOTE = ("注：“经检验差异显著”指差异经 t 检验（自由度按抽样设计）并经 Benjamini–Hochberg 多重比较校正后"
                 "在 0.05 水平上显著；“差异在抽样误差范围内”指未达到这一标准，不作为差异报告。"
                 "各估计值的标准误见各章表格及附表，方法见附录。")
COMPARE_NOTE = ("“高于全省”“低于全省”：本县与全省之差经 t 检验（自由度按抽样设计，全部县与全省在同一指标上的比较"
                "按 Benjamini–Hochberg 方法校正）在 0.05 水平上显著；其余为“与全省无显著差异”。")


def academic_block(tb: Tables, scope: str, unit: str) -> dict | None:
    sm = tb.get("score_mean")
    if sm is None:
        return None
    subjects = []
    for s in SUBJECTS:
        m = _one(sm, scope=scope, unit=unit, subject=s)
        if m is None:
            continue
        dist = [(_one(tb["level_dist"], scope=scope, unit=unit, subject=s, level=lv) or {}).get("estimate")
                for lv in (1, 2, 3, 4)]
        l3 = _one(tb["level_3up"], scope=scope, unit=unit, subject=s) or {}
        gaps = []
        for g in ("女−男", "城区−乡村"):
            r = _one(tb.get("gaps"), scope=scope, unit=unit, subject=s, gap=g)
            if r:
                gaps.append({"name": g, "est": _num(r["estimate"]), "se": _num(r["se"]),
                             "sig": _significant(r), "raw": r["estimate"], "raw_se": r["se"]})
        subjects.append({"subject": s, "mean": _num(m["estimate"]), "se": _num(m["se"]), "n": m["n_pupils"],
                         "n_schools": m["n_schools"], "raw": m["estimate"], "raw_se": m["se"],
                         "dist": [_pct(x) for x in dist], "dist_raw": dist,
                         "l3": _pct(l3.get("estimate")), "l3_se": _pct(l3.get("se")), "gaps": gaps,
                         "suppressed": m["estimate"] is None, "change": _change(tb, scope, unit, s)})
    chart = charts.bar_spec([(s["subject"], s["raw"], s["raw_se"]) for s in subjects], ref=500, ref_label="基准 500")
    levels = charts.stacked_spec([(s["subject"], s["dist_raw"]) for s in subjects], LEVEL_NAMES)
    return {"subjects": subjects, "chart": charts.bars_svg(chart), "levels_chart": charts.stacked_svg(levels),
            "chart_spec": chart, "levels_spec": levels, "has_trend": tb.get("trend") is not None,
            "cuts_note": cuts_note(tb.inputs.cut_scores)}


def _change(tb: Tables, scope: str, unit: str, subject: str) -> dict | None:
    """与上年相比 for one mean: this year's estimate against the previous cycle's stored one, SE with
    the linking error (``junheng.assessment.trend``)."""
    r = _one(tb.get("trend"), scope=scope, unit=unit, subject=subject)
    if r is None or r["difference"] is None:
        return None
    return {"diff": f"{r['difference']:+.1f}", "se": _num(r["se_difference"]), "sig": bool(r["significant"]),
            "prev": _num(r["estimate_prev"]), "le": _num(r["linking_error"])}


def cuts_note(cut_scores: dict | None) -> str:
    """Which method and panel set the cut scores of the levels, or that they are provisional."""
    provisional_text = "水平分数线为暂定（400/500/600，基准年均值±1个标准差），尚未经标准设定专家组确定，各水平比例仅供参考。"
    if not cut_scores or all(c.get("provisional") for c in cut_scores.values()):
        return provisional_text
    parts, provisional = [], False
    for s in SUBJECTS:
        c = cut_scores.get(s)
        if not c:
            continue
        cuts = "/".join(f"{x:.0f}" for x in c["cuts"])
        provisional |= bool(c.get("provisional"))
        parts.append(f"{s} {cuts}（{'暂定' if c.get('provisional') else c.get('label', '')}）")
    text = "水平分数线：" + "；".join(parts) + "。"
    if provisional:
        text += "标注“暂定”的学科尚未经标准设定专家组确定分数线，其水平比例为暂定结果。"
    return text


def fitness_block(tb: Tables, scope: str, unit: str) -> dict | None:
    f = tb.get("fitness")
    if f is None:
        return None
    groups = ["全体", "男", "女", "城区", "镇区", "乡村"]
    table = []
    for m in FIT_METRICS:
        row = {"metric": m, "cells": []}
        for g in groups:
            r = _one(f, scope=scope, unit=unit, metric=m, group=g)
            row["cells"].append({"v": _pct(r["estimate"]) if r else "—", "se": _pct(r["se"], 2) if r else ""})
        table.append(row)
    chart_items = []
    for m in FIT_METRICS[:4]:
        r = _one(f, scope=scope, unit=unit, metric=m, group="全体") or {}
        chart_items.append((m, r.get("estimate"), r.get("se")))
    spec = charts.bar_spec(chart_items, unit="%", vmax=1.05)
    return {"groups": groups, "table": table, "chart": charts.bars_svg(spec), "chart_spec": spec}


def resource_block(tb: Tables, county: str) -> dict:
    rows = []
    for lvl in ("小学", "初中"):
        for r in _rows(tb["cv"], county_code=county, level=lvl):
            rows.append({"level": lvl, "id": r["indicator"], "name": IND_NAMES[r["indicator"]],
                         "mean": _num(r["mean"], 2), "cv": _num(r["cv"], 3), "limit": f"{r['limit']:.2f}",
                         "ok": r["cv_ok"], "n": r["n_schools"]})
    spec = charts.bar_spec([(f"{r['level']}·{IND_SHORT[r['id']]}", float(r["cv"]) if r["cv"] != "—" else None, None)
                            for r in rows], ref=0.50, ref_label="小学限 0.50", vmax=1.0)
    return {"cv_rows": rows, "cv_chart": charts.bars_svg(spec), "cv_spec": spec}


def school_rows(tb: Tables, county: str | None = None, school: str | None = None) -> list[dict]:
    if school:
        found = _rows(tb["units"], school_code=school)
    else:
        found = _rows(tb["units"], county_code=county)
    out = []
    for r in found:
        out.append({"code": r["school_code"], "name": r.get("name") or "", "level": r["level"],
                    "stage": r["stage"], "enrol": r["enrolment"],
                    "vals": [{"v": _num(r[i], 2), "ok": r[f"{i}_met"], "ratio": _pct(r[f"{i}_ratio"], 0)}
                               for i in IND_NAMES],
                    "n_met": r["n_met"], "pass": r["school_pass"]})
    return out


def verdict_row(tb: Tables, county: str) -> dict | None:
    v = tb.get("verdict")
    r = _one(v, county_code=county)
    if r is None:
        return None
    r = {**r, "recognition_txt": _pct(r["recognition"]), "reasons": [plain(x) for x in r.get("reasons") or []]}
    return r


def compare_rows(tb: Tables, county: str, city: str) -> list[dict]:
    """County against its city and the province (academic means and fitness 达标率/优良率)."""
    rows = []
    sm = tb.get("score_mean")
    for s in SUBJECTS if sm is not None else ():
        c, ci, p = (_one(sm, scope=sc, unit=u, subject=s) for sc, u in
                    (("county", county), ("city", city), ("province", "410000")))
        if c is None:
            continue
        rows.append(_compare(f"{s} 平均分", c, ci, p, pct=False,
                             test=_one(tb.get("vs_province"), metric=f"{s} 平均分", county_code=county)))
    f = tb.get("fitness")
    for m in ("达标率", "优良率", "视力不良率"):
        if f is None:
            break
        c, ci, p = (_one(f, scope=sc, unit=u, metric=m, group="全体") for sc, u in
                    (("county", county), ("city", city), ("province", "410000")))
        if c is None:
            continue
        rows.append(_compare(m, c, ci, p, pct=True, test=_one(tb.get("vs_province"), metric=m, county_code=county)))
    return rows


def _compare(label, c, ci, p, *, pct, test=None):
    """One row of the county-against-province table; ``test`` is the comparison's row of
    ``tb["vs_province"]`` (``survey.versus_total``)."""
    fmt = _pct if pct else _num
    d = None if c["estimate"] is None or p is None or p["estimate"] is None or test is None else test["diff"]
    sig = d is not None and _significant(test)
    word = "—" if d is None else ("高于全省" if sig and d > 0 else "低于全省" if sig else "与全省无显著差异")
    return {"label": label, "county": fmt(c["estimate"]), "county_se": fmt(c["se"]),
            "city": fmt(ci["estimate"]) if ci else "—", "province": fmt(p["estimate"]) if p else "—",
            "diff": "—" if d is None else (f"{d * 100:+.1f} 个百分点" if pct else f"{d:+.1f}"), "word": word,
            "sig": sig, "raw_d": d,
            "p_adj": "—" if test is None or test.get("p_adj") is None else f"{test['p_adj']:.3f}"}


def findings_annual(tb: Tables) -> list[str]:
    out: list[str] = []
    ac = academic_block(tb, "province", "410000")
    if ac:
        for s in ac["subjects"]:
            if s["raw"] is None:
                continue
            out.append(f"{s['subject']}：全省平均 {s['mean']} 分，"
                       f"达到Ⅲ级（良好）及以上的学生占 {s['l3']}。")
            for g in s["gaps"]:
                if g["sig"]:
                    hi = ("女生" if g["raw"] > 0 else "男生") if g["name"] == "女−男" else \
                        ("城区学生" if g["raw"] > 0 else "乡村学生")
                    lo = {"女生": "男生", "男生": "女生", "城区学生": "乡村学生", "乡村学生": "城区学生"}[hi]
                    out.append(f"{s['subject']}：{hi}平均分比{lo}高 {abs(g['raw']):.1f} 分"
                               f"（{TESTED}）。")
        quiet = [f"{s['subject']}{GAP_WORDS[g['name']]}" for s in ac["subjects"] for g in s["gaps"]
                 if not g["sig"] and g["raw"] is not None]
        if quiet:
            out.append("以下成绩差异在抽样误差范围内，不作为差异报告：" + "、".join(quiet) + "之间。")
    fb = tb.get("fitness")
    if fb is not None:
        r = _one(fb, scope="province", unit="410000", metric="达标率", group="全体")
        g = _one(fb, scope="province", unit="410000", metric="优良率", group="全体")
        v = _one(fb, scope="province", unit="410000", metric="视力不良率", group="全体")
        if r and r["estimate"] is not None:
            out.append(f"体质健康：全省达标率 {_pct(r['estimate'])}，"
                       f"优良率 {_pct(g['estimate'])}，视力不良率 {_pct(v['estimate'])}。")
        gap = tb.get("fitness_gap")
        g = gap.row(0, named=True) if gap is not None and gap.height else None
        if g and g["diff"] is not None:
            d = g["diff"]
            if _significant(g):
                out.append(f"体质健康优良率{'女生高于男生' if d > 0 else '男生高于女生'} {abs(d) * 100:.1f} 个百分点"
                           f"（{TESTED}）。")
            else:
                out.append(f"体质健康优良率男女生之间{NOT_TESTED}。")
    out.extend(findings_factors(tb))
    res = tb["resource"]
    n = res.height
    n_res = int(res["resource_pass"].sum())
    out.append(f"资源配置：{n} 个县（市、区）中 {n_res} 个所有学校达标且 7 项差异系数均在限值内。")
    cv = tb["cv"]
    worst = cv.filter(~pl.col("cv_ok").fill_null(False)).group_by("level", "indicator").len().sort(
        ["len", "level", "indicator"], descending=[True, False, False])
    if worst.height:
        w = worst.row(0, named=True)
        out.append(f"差异系数超限最多的是{w['level']}“{IND_NAMES[w['indicator']]}”（{w['len']} 个县）。")
    v = tb.get("verdict")
    if v is not None:
        k = int(v["overall_pass"].sum())
        u = int((v["overall"] == "无法判定").sum()) if "overall" in v.columns else 0
        out.append(f"优质均衡：{k} 个县（市、区）达到全部四方面要求，{n - k - u} 个未达到"
                   + (f"，{u} 个无法判定（质量监测结果与阈值的差距在抽样误差内）" if u else "") + "（原因见各县表）。")
        ch = v["change"].value_counts().sort("change").rows() if "change" in v.columns else []
        if ch:
            out.append("与上年相比：" + "，".join(f"{a} {b} 个" for a, b in ch) + "。")
    return out


def findings_county(tb: Tables, county: str, city: str, name: str) -> list[str]:
    out = []
    rows = compare_rows(tb, county, city) + factor_compare_rows(tb, county, city)
    small = [r["label"] for r in rows if r["raw_d"] is None]
    if small:
        out.append("、".join(small) + "：本县参测学生或学校太少，不予报告。")
    for r in rows:
        if r["raw_d"] is None:
            continue
        if r["sig"]:
            out.append(f"{r['label']} {r['county']}，{r['word']}（相差 {r['diff'].lstrip('+-')}，{TESTED}）。")
        else:
            out.append(f"{r['label']} {r['county']}，与全省的{NOT_TESTED}。")
    v = verdict_row(tb, county)
    res = _one(tb["resource"], county_code=county)
    if res:
        out.append(f"资源配置：{res['n_units']} 个学校（学部）中 {res['n_units_pass']} 个达标；"
                   + ("7 项差异系数均在限值内。" if res["cv_pass"] else
                      f"差异系数超出限值的指标：{plain(res['failing_cv'].replace(',', '、'))}。"))
    if v:
        word = v.get("overall") or ("达到" if v["overall_pass"] else "未达到")
        head = f"{name}{word}优质均衡评估要求" if word != "无法判定" else f"{name}是否达到优质均衡评估要求无法判定"
        out.append(head + ("。" if v["overall_pass"] else f"，共 {len(v['reasons'])} 项原因（见第{chapter('county', 'verdict')}部分）。")
                   + f"与上年相比：{v['change']}。")
    return out


def county_se_table(tb: Tables) -> dict:
    """Appendix: each county's main estimates with their standard errors ("—" = suppressed)."""
    names = dict(tb.inputs.names.select("county_code", "county_name").iter_rows())
    sm, f = tb.get("score_mean"), tb.get("fitness")
    subjects = [s for s in SUBJECTS if sm is not None and _rows(sm, scope="province", unit="410000", subject=s)]
    rows = []
    for code in tb["resource"]["county_code"].to_list():
        cells = []
        for m in ("达标率", "优良率"):
            r = _one(f, scope="county", unit=code, metric=m, group="全体") if f is not None else None
            cells.append(f"{_pct(r['estimate'])}（{_pct(r['se'], 1)}）" if r and r["estimate"] is not None else "—")
        for s in subjects:
            r = _one(sm, scope="county", unit=code, subject=s)
            cells.append(f"{_num(r['estimate'])}（{_num(r['se'])}）" if r and r["estimate"] is not None else "—")
        rows.append({"name": names.get(code, code), "code": code, "cells": cells})
    heads = [*(["达标率", "优良率"] if f is not None else []), *subjects]
    if f is None:
        rows = [{**r, "cells": r["cells"][2:]} for r in rows]
    return {"heads": heads, "rows": rows}


def _factor_names(tb: Tables) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """Indicators (id, name) and every factor's display name (indicator, or ``<scale>_group``)."""
    from junheng.reports.tables import factor_columns

    inds, scales = factor_columns(tb.inputs)
    names = {c: n for c, n in inds} | {f"{c}_group": n for c, n in scales}
    return inds, names


def _gap_label(category: str) -> str:
    """factor_gaps' gap category (``true − false``, ``高 − 低``) as shown: 是 − 否, 高 − 低."""
    return category.replace("true", "是").replace("false", "否")


def factors_block(tb: Tables) -> dict | None:
    """相关因素 for the annual report: indicator shares (province and each city, with SEs), a chart
    of the province's shares, and the achievement gap by factor per subject.  None without
    questionnaire data."""
    share = tb.get("q_share")
    gaps = tb.get("q_gaps")
    if share is None and gaps is None:
        return None
    inds, names = _factor_names(tb)
    rows, chart, spec = [], "", None
    if share is not None:
        cities = tb.inputs.names.select("city_code", "city_name").unique().sort("city_code")
        units = [("全省", "province", "410000")] + [
            (r["city_name"], "city", r["city_code"]) for r in cities.to_dicts()
            if _rows(share, scope="city", unit=r["city_code"])]
        for label, scope, unit in units:
            cells = []
            for c, _ in inds:
                r = _one(share, scope=scope, unit=unit, indicator=c)
                cells.append({"v": _pct(r["estimate"]) if r else "—", "se": _pct(r["se"], 2) if r else ""})
            rows.append({"name": label, "cells": cells})
        items = []
        for c, n in inds:
            r = _one(share, scope="province", unit="410000", indicator=c) or {}
            items.append((n, r.get("estimate"), r.get("se")))
        spec = charts.bar_spec(items, unit="%", vmax=1.05)
        chart = charts.bars_svg(spec)
    gap_rows, subjects = [], []
    if gaps is not None:
        subjects = [s for s in SUBJECTS if _rows(gaps, subject=s)]
        for f in dict.fromkeys(gaps["factor"].to_list()):
            g = {s: _one(gaps, factor=f, subject=s, is_gap=True) for s in subjects}
            label = next((_gap_label(r["category"]) for r in g.values() if r), "")
            cells = []
            for s in subjects:
                r = g[s] or {}
                est, se = r.get("estimate"), r.get("se")
                cells.append({"est": _num(est), "se": _num(se), "sig": _significant(r), "raw": est,
                              "raw_se": se})
            gap_rows.append({"factor": f, "name": names.get(f, f), "label": label, "cells": cells})
    return {"indicators": [n for _, n in inds], "share_rows": rows, "chart": chart, "chart_spec": spec,
            "subjects": subjects,
            "gap_rows": gap_rows}


def factor_compare_rows(tb: Tables, county: str, city: str) -> list[dict]:
    """County against its city and the province: the share of pupils meeting each indicator."""
    share = tb.get("q_share")
    if share is None:
        return []
    inds, _ = _factor_names(tb)
    rows = []
    for c, n in inds:
        cc, ci, p = (_one(share, scope=sc, unit=u, indicator=c) for sc, u in
                     (("county", county), ("city", city), ("province", "410000")))
        if cc is not None:
            rows.append(_compare(n, cc, ci, p, pct=True, test=_one(tb.get("vs_province"), metric=c, county_code=county)))
    return rows


def findings_factors(tb: Tables) -> list[str]:
    """主要发现 of 相关因素: the province's indicator shares, then each factor's significant gaps;
    the rest listed as not reported as differences."""
    fb = factors_block(tb)
    if fb is None:
        return []
    out = []
    inds, _ = _factor_names(tb)
    share = tb.get("q_share")
    parts = []
    for c, n in inds:
        r = _one(share, scope="province", unit="410000", indicator=c) if share is not None else None
        if r and r["estimate"] is not None:
            parts.append(f"{n}的学生占 {_pct(r['estimate'])}")
    if parts:
        out.append("相关因素：全省" + "，".join(parts) + "。")
    quiet = []
    for g in fb["gap_rows"]:
        hi, lo = (x.strip() for x in g["label"].split("−")) if "−" in g["label"] else ("是", "否")
        who = (f"“{g['name']}”的学生比其他学生" if g["label"] == "是 − 否"
               else f"{g['name']}“{hi}”组比“{lo}”组")
        said = [f"{s}{'高' if c['raw'] > 0 else '低'} {abs(c['raw']):.1f} 分"
                for s, c in zip(fb["subjects"], g["cells"]) if c["sig"]]
        if said:
            out.append(f"{who}平均分" + "、".join(said) + f"（{TESTED}）。")
        small = [s for s, c in zip(fb["subjects"], g["cells"]) if not c["sig"] and c["raw"] is not None]
        if small:
            quiet.append(f"{g['name']}（{'、'.join(small)}）")
    if quiet:
        out.append(f"以下相关因素的成绩{NOT_TESTED}，不作为差异报告：" + "、".join(quiet) + "。")
    return out
