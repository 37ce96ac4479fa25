"""A synthetic grade-6 student questionnaire (相关因素调查问卷·学生卷), a short 校长 questionnaire,
and answers to them.

:func:`student_questionnaire` is a realistic definition of 32 items in the shape of the national
and provincial monitoring questionnaires: background (寄宿, 父母外出务工, 父母学历, 家庭藏书,
校外培训), daily time use in numbers (作业, 睡眠, 课外阅读, 体育锻炼) and five Likert scales
(学习兴趣, 学习自信, 师生关系, 同伴关系, 学业负担; 1–4, some items reverse-worded), with the
indicators of the national rules (睡眠 ≥ 10 h; 书面作业 ≤ 60 min in grades 3–6; 锻炼 ≥ 1 h;
sources in docs/methods/questionnaire.md).

:func:`synth_responses` answers it for a frame of pupils: every pupil has a latent achievement
(the standardised ``theta``/``scale_score`` column when there is one, else drawn), a home
background (SES) correlated with it and with the school's location, and one latent trait per
scale correlated with both; Likert answers are the trait plus noise cut at thresholds that give
the positive skew of real pupils' answers. Item non-response rises along the questionnaire and
among weaker pupils; about 1 % of pupils return no questionnaire. Vectorised; ``random_state`` makes it
reproducible.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError
from junheng.questionnaire import Questionnaire, load_questionnaire

LIKERT = {"1": "完全不同意", "2": "不太同意", "3": "比较同意", "4": "完全同意"}
EDUCATION = {"1": "小学及以下", "2": "初中", "3": "高中/中专/职高", "4": "大专", "5": "本科及以上"}

# (scale id, name, [(item text, reversed?)], latent correlation with achievement)
SCALES = [
    ("interest", "学习兴趣", [("我喜欢学习", False), ("我对课堂上学习的内容感兴趣", False),
                          ("学习对我来说是一件快乐的事", False), ("我觉得学习很无聊", True)], 0.30),
    ("confidence", "学习自信", [("我相信自己能学好各门功课", False), ("遇到难题时，我有信心解决", False),
                            ("我学新东西很快", False), ("我担心自己学不好", True)], 0.45),
    ("teacher_rel", "师生关系", [("老师关心我", False), ("老师公平地对待每一个学生", False),
                             ("遇到困难时，我愿意向老师求助", False), ("老师会表扬我的进步", False),
                             ("老师的批评让我感到难堪", True)], 0.20),
    ("peer_rel", "同伴关系", [("我在班里有好朋友", False), ("同学们愿意和我一起玩", False),
                          ("我在班里感到被孤立", True), ("我有困难时同学会帮助我", False)], 0.15),
    ("burden", "学业负担", [("我觉得作业太多", False), ("学习让我感到压力很大", False),
                        ("上学期间我经常感到很累", False)], -0.15),
]


def _definition() -> dict:
    items: list[dict] = [
        {"id": "Q01", "text": "你在学校寄宿吗？", "type": "choice", "options": {"1": "寄宿", "2": "不寄宿"}},
        {"id": "Q02", "text": "你的父母外出务工（不在本县/区）的情况", "type": "choice",
         "options": {"1": "父母都在家", "2": "只有父亲外出", "3": "只有母亲外出", "4": "父母都外出"}},
        {"id": "Q03", "text": "你父亲的最高学历", "type": "choice", "options": EDUCATION},
        {"id": "Q04", "text": "你母亲的最高学历", "type": "choice", "options": EDUCATION},
        {"id": "Q05", "text": "你家里大约有多少本书（不算课本和杂志）？", "type": "choice",
         "options": {"1": "0–10 本", "2": "11–25 本", "3": "26–100 本", "4": "101–200 本", "5": "200 本以上"}},
        {"id": "Q06", "text": "你家里有没有供你学习用的书桌？", "type": "choice", "options": {"1": "有", "2": "没有"}},
        {"id": "Q07", "text": "本学期你参加了几项校外学科类培训（语文、数学、英语等）？", "type": "choice",
         "options": {"1": "没有参加", "2": "1 项", "3": "2 项及以上"}},
        {"id": "Q08", "text": "上学期间，你平均每天完成书面作业大约用多少分钟？", "type": "number", "min": 0, "max": 300,
         "unit": "分钟", "integer": True},
        {"id": "Q09", "text": "上学期间，你平均每天睡眠多少小时？", "type": "number", "min": 4, "max": 14, "unit": "小时"},
        {"id": "Q10", "text": "你平均每天课外阅读大约多少分钟？", "type": "number", "min": 0, "max": 300, "unit": "分钟",
         "integer": True},
        {"id": "Q11", "text": "你平均每天校内外体育锻炼（含体育课、大课间）大约多少分钟？", "type": "number", "min": 0,
         "max": 300, "unit": "分钟", "integer": True},
        {"id": "Q12", "text": "上学期间，你平均每天用手机、平板或电脑娱乐（游戏、视频）多长时间？", "type": "choice",
         "options": {"1": "不使用", "2": "半小时以内", "3": "半小时到 1 小时", "4": "1–2 小时", "5": "2 小时以上"}},
    ]
    scales = []
    n = len(items)
    for sid, name, texts, _ in SCALES:
        ids, rev = [], []
        for text, reverse in texts:
            n += 1
            iid = f"Q{n:02d}"
            items.append({"id": iid, "text": text, "type": "choice", "options": LIKERT})
            ids.append(iid)
            if reverse:
                rev.append(iid)
        scales.append({"id": sid, "name": name, "items": ids, "reverse": rev, "min_items": max(2, (len(ids) + 1) // 2)})
    indicators = [
        {"id": "boarding", "name": "寄宿", "item": "Q01", "op": "==", "value": 1},
        {"id": "left_behind", "name": "留守（父母都外出务工）", "item": "Q02", "op": "==", "value": 4},
        {"id": "books_100", "name": "家庭藏书 100 本以上", "item": "Q05", "op": "in", "value": [4, 5]},
        {"id": "tutoring", "name": "参加校外学科类培训", "item": "Q07", "op": "in", "value": [2, 3]},
        {"id": "homework_ok", "name": "书面作业不超过 60 分钟", "item": "Q08", "op": "<=", "value": 60},
        {"id": "sleep_ok", "name": "睡眠达到 10 小时", "item": "Q09", "op": ">=", "value": 10},
        {"id": "exercise_ok", "name": "每天锻炼 1 小时", "item": "Q11", "op": ">=", "value": 60},
    ]
    return {"code": "S2022", "title": "义务教育质量监测相关因素调查问卷（六年级学生卷）", "respondent": "student",
            "missing_codes": [9, 99], "items": items, "scales": scales, "indicators": indicators}


def student_questionnaire() -> Questionnaire:
    """The synthetic grade-6 student questionnaire (32 items, 5 scales, 7 indicators), checked by
    :func:`junheng.questionnaire.load_questionnaire`."""
    return load_questionnaire(_definition())


def _latent_achievement(pupils: pl.DataFrame, rng: np.random.Generator) -> np.ndarray:
    for col in ("theta", "theta_eap", "scale_score"):
        if col in pupils.columns:
            x = pupils[col].cast(pl.Float64).to_numpy()
            ok = np.isfinite(x)
            if ok.sum() >= 2:
                z = (x - x[ok].mean()) / (x[ok].std() or 1.0)
                return np.where(ok, z, rng.standard_normal(x.size))
    return rng.standard_normal(pupils.height)


def _ordinal(latent: np.ndarray, cuts: list[float]) -> np.ndarray:
    """Category 1… of a latent value cut at increasing ``cuts``."""
    return (np.searchsorted(np.asarray(cuts), latent) + 1).astype(np.int64)


def synth_responses(pupils: pl.DataFrame, q: Questionnaire | None = None, random_state: int = 0, *,
                    missing_code: int | None = None, nonresponse: float = 0.01) -> pl.DataFrame:
    """Answers of ``pupils`` (needs ``student_id``; uses ``school_code``, ``location`` (城区/镇区/乡村)
    and an achievement column ``theta``/``theta_eap``/``scale_score`` when present) to the student
    questionnaire ``q`` (default :func:`student_questionnaire`; its item ids must be those of it).

    Returns the responses frame (``respondent_id``, ``school_code`` when given, ``Q01…``: Int64 for
    choice items, Float64 for numbers, null = no answer — or ``missing_code`` in choice items when
    given, as a person would key it). A share ``nonresponse`` of pupils returns no questionnaire
    (no row)."""
    q = q or student_questionnaire()
    ref = student_questionnaire()
    if q.item_ids != ref.item_ids:
        raise ParameterError("synth_responses 只能生成合成学生问卷的作答 / synth_responses answers the synthetic "
                             "student questionnaire only")
    if "student_id" not in pupils.columns:
        raise ParameterError("pupils 需要 student_id 列 / pupils need a student_id column")
    rng = np.random.default_rng([random_state, 9301])
    n = pupils.height
    z = _latent_achievement(pupils, rng)
    loc = pupils["location"].cast(pl.String).to_numpy() if "location" in pupils.columns else np.full(n, "镇区")
    rural = np.char.find(loc.astype(str), "乡") >= 0
    urban = np.char.find(loc.astype(str), "城") >= 0
    # home background: correlated 0.4 with achievement, lower in rural schools
    ses = 0.4 * z + np.sqrt(1 - 0.4 ** 2) * rng.standard_normal(n) + 0.35 * urban - 0.35 * rural
    cols: dict[str, np.ndarray] = {}
    cols["Q01"] = np.where(rng.random(n) < np.where(rural, 0.28, np.where(urban, 0.04, 0.14)), 1, 2)
    away = rng.random(n)
    # both parents away: more in rural areas and in poorer homes (E exp(−0.35 ses) ≈ exp(0.35²/2) kept out)
    p_both = np.where(rural, 0.22, np.where(urban, 0.05, 0.14)) * np.exp(-0.35 * ses - 0.35 ** 2 / 2)
    cols["Q02"] = np.select([away < p_both, away < p_both + 0.16, away < p_both + 0.20], [4, 2, 3], 1)
    for iid in ("Q03", "Q04"):
        cols[iid] = _ordinal(0.8 * ses + 0.6 * rng.standard_normal(n), [-0.9, 0.35, 1.0, 1.5])
    cols["Q05"] = _ordinal(0.7 * ses + 0.25 * z + 0.65 * rng.standard_normal(n), [-0.8, 0.1, 1.0, 1.6])
    cols["Q06"] = np.where(0.6 * ses + rng.standard_normal(n) > -1.7, 1, 2)
    cols["Q07"] = _ordinal(0.5 * ses + 0.9 * rng.standard_normal(n), [1.1, 1.7])
    # time use: minutes and hours as people report them (rounded)
    cols["Q08"] = np.clip(np.round(np.exp(3.85 - 0.05 * z + 0.4 * rng.standard_normal(n)) / 5) * 5, 0, 300)
    cols["Q09"] = np.clip(np.round((9.4 + 0.1 * ses - 0.35 * rural + 0.75 * rng.standard_normal(n)) * 2) / 2, 5, 13)
    traits = {sid: r * z + 0.15 * ses + np.sqrt(max(1 - r * r - 0.0225, 0.1)) * rng.standard_normal(n)
              for sid, _, _, r in SCALES}
    cols["Q10"] = np.clip(np.round(rng.gamma(2.5, 14.0, n) * np.exp(0.25 * traits["interest"] + 0.1 * z) / 5) * 5, 0, 300)
    cols["Q11"] = np.clip(np.round((68 + 8 * urban + 22 * rng.standard_normal(n)) / 10) * 10, 0, 300)
    cols["Q12"] = _ordinal(-0.3 * z + 0.2 * rural + rng.standard_normal(n), [-1.4, -0.1, 0.9, 1.6])
    lam = 0.75
    k = 12
    for sid, _, texts, _ in SCALES:
        for _text, reverse in texts:
            k += 1
            y = (-1 if reverse else 1) * lam * traits[sid] + np.sqrt(1 - lam ** 2) * rng.standard_normal(n)
            # thresholds for the positive skew of pupils' self-reports (about 5 / 15 / 40 / 40 %)
            cuts = [-1.65, -0.85, 0.25] if not reverse else [-0.25, 0.85, 1.65]
            if sid == "burden":
                cuts = [-0.7, 0.3, 1.2]
            cols[f"Q{k:02d}"] = _ordinal(y, cuts)
    # item non-response: more along the questionnaire and among weaker pupils
    ids = q.item_ids
    pos = np.arange(len(ids)) / len(ids)
    base = 0.006 + 0.025 * pos  # per item
    propensity = np.exp(-0.45 * z)
    skip = rng.random((n, len(ids))) < np.clip(base[None, :] * propensity[:, None], 0, 0.5)
    data: dict[str, pl.Series] = {"respondent_id": pupils["student_id"].cast(pl.String).alias("respondent_id")}
    if "school_code" in pupils.columns:
        data["school_code"] = pupils["school_code"].cast(pl.String)
    for j, iid in enumerate(ids):
        item = q.item(iid)
        v = cols[iid]
        if item.type == "choice":
            s = pl.Series(iid, v, dtype=pl.Int64)
            fill = None if missing_code is None else missing_code
        else:
            s = pl.Series(iid, v, dtype=pl.Float64)
            fill = None
        data[iid] = pl.DataFrame({"v": s, "m": skip[:, j]}).select(
            pl.when(pl.col("m")).then(pl.lit(fill, dtype=s.dtype)).otherwise(pl.col("v")).alias(iid)).to_series()
    out = pl.DataFrame(list(data.values()))
    keep = rng.random(n) >= nonresponse
    return out.filter(pl.Series(keep))


def _principal_definition() -> dict:
    likert = LIKERT
    items = [
        {"id": "P01", "text": "你担任本校校长几年了？", "type": "number", "min": 0, "max": 40, "unit": "年", "integer": True},
        {"id": "P02", "text": "你的最高学历", "type": "choice",
         "options": {"1": "中专及以下", "2": "大专", "3": "本科", "4": "研究生"}},
        {"id": "P03", "text": "本学期学校是否开展课后服务？", "type": "choice", "options": {"1": "是", "2": "否"}},
        {"id": "P04", "text": "参加课后服务的学生约占全校学生的百分之几？", "type": "number", "min": 0, "max": 100,
         "unit": "%"},
        {"id": "P05", "text": "学校每天安排学生校内体育活动（含体育课、大课间）多少分钟？", "type": "number", "min": 0,
         "max": 240, "unit": "分钟", "integer": True},
        {"id": "P06", "text": "学校是否实行作业公示制度？", "type": "choice", "options": {"1": "是", "2": "否"}},
        {"id": "P07", "text": "学校教研活动的频率", "type": "choice",
         "options": {"1": "每月不到一次", "2": "每月 1–2 次", "3": "每周一次", "4": "每周多次"}},
        {"id": "P08", "text": "我经常听课并与教师交流教学", "type": "choice", "options": likert},
        {"id": "P09", "text": "我组织教师研讨如何改进学生的学习", "type": "choice", "options": likert},
        {"id": "P10", "text": "我关注每个学生的学业进步", "type": "choice", "options": likert},
        {"id": "P11", "text": "行政事务让我很少有时间关注教学", "type": "choice", "options": likert},
        {"id": "P12", "text": "学校的教学设备能满足教学需要", "type": "choice", "options": likert},
        {"id": "P13", "text": "学校的图书能满足学生阅读需要", "type": "choice", "options": likert},
        {"id": "P14", "text": "学校缺少合格的音体美教师", "type": "choice", "options": likert},
    ]
    return {"code": "P2022", "title": "义务教育质量监测相关因素调查问卷（校长卷）", "respondent": "principal",
            "missing_codes": [9, 99], "items": items,
            "scales": [{"id": "leadership", "name": "教学领导", "items": ["P08", "P09", "P10", "P11"], "reverse": ["P11"],
                        "min_items": 2},
                       {"id": "resources", "name": "办学条件", "items": ["P12", "P13", "P14"], "reverse": ["P14"],
                        "min_items": 2}],
            "indicators": [{"id": "after_school", "name": "开展课后服务", "item": "P03", "op": "==", "value": 1},
                           {"id": "pe_1h", "name": "校内体育活动 1 小时", "item": "P05", "op": ">=", "value": 60},
                           {"id": "homework_public", "name": "作业公示", "item": "P06", "op": "==", "value": 1}]}


def principal_questionnaire() -> Questionnaire:
    """A short synthetic 校长 questionnaire (14 items; scales 教学领导 and 办学条件; indicators 课后服务,
    校内体育活动 1 小时, 作业公示)."""
    return load_questionnaire(_principal_definition())


def synth_principal_responses(schools: pl.DataFrame, random_state: int = 0, *, nonresponse: float = 0.02) -> pl.DataFrame:
    """Answers of the principals of ``schools`` (needs ``school_code``; uses ``location``) to
    :func:`principal_questionnaire`: ``respondent_id`` (= 学校标识码) and ``P01…`` (null = no answer);
    rural schools report fewer resources and less after-school provision. Vectorised, seeded."""
    if "school_code" not in schools.columns:
        raise ParameterError("schools 需要 school_code 列 / schools need a school_code column")
    q = principal_questionnaire()
    rng = np.random.default_rng([random_state, 7717])
    n = schools.height
    loc = schools["location"].cast(pl.String).to_numpy().astype(str) if "location" in schools.columns \
        else np.full(n, "镇区")
    rural = np.char.find(loc, "乡") >= 0
    urban = np.char.find(loc, "城") >= 0
    wealth = 0.5 * urban - 0.5 * rural + rng.standard_normal(n)
    lead = rng.standard_normal(n)
    cols: dict[str, np.ndarray] = {
        "P01": np.clip(np.round(rng.gamma(2.0, 3.5, n)), 0, 40),
        "P02": _ordinal(0.6 * wealth + rng.standard_normal(n), [-2.2, -0.6, 1.3]),
        "P03": np.where(rng.random(n) < np.where(rural, 0.85, 0.98), 1, 2),
        "P05": np.clip(np.round((62 + 6 * wealth + 12 * rng.standard_normal(n)) / 5) * 5, 20, 180),
        "P06": np.where(rng.random(n) < 0.9, 1, 2),
        "P07": _ordinal(0.5 * lead + 0.3 * wealth + rng.standard_normal(n), [-1.6, -0.2, 1.0]),
    }
    cols["P04"] = np.where(cols["P03"] == 1, np.clip(np.round(80 + 8 * wealth + 10 * rng.standard_normal(n)), 5, 100),
                           0.0)
    for iid, trait, reverse in (("P08", lead, False), ("P09", lead, False), ("P10", lead, False), ("P11", lead, True),
                                ("P12", wealth, False), ("P13", wealth, False), ("P14", wealth, True)):
        y = (-1 if reverse else 1) * 0.75 * trait + 0.66 * rng.standard_normal(n)
        cols[iid] = _ordinal(y, [-0.25, 0.85, 1.65] if reverse else [-1.65, -0.85, 0.25])
    skip = rng.random((n, len(q.items))) < 0.01
    data = [schools["school_code"].cast(pl.String).alias("respondent_id")]
    for j, item in enumerate(q.items):
        dtype = pl.Int64 if item.type == "choice" else pl.Float64
        s = pl.Series(item.id, cols[item.id], dtype=dtype)
        data.append(pl.DataFrame({"v": s, "m": skip[:, j]}).select(
            pl.when(pl.col("m")).then(None).otherwise(pl.col("v")).alias(item.id)).to_series())
    return pl.DataFrame(data).filter(pl.Series(rng.random(n) >= nonresponse))


__all__ = ["SCALES", "principal_questionnaire", "student_questionnaire", "synth_principal_responses",
           "synth_responses"]
