"""Synthetic academic tests: items with realistic parameters, booklet designs, raw responses.

Per subject (语文, 数学, 英语, 科学) the bank has ``n_anchor_blocks`` anchor blocks shared by the
base year and the current year, ``n_blocks − n_anchor_blocks`` current-year blocks and as many
base-year-only blocks; each block has ``items_per_block`` items. Each year's test is the cyclic
BIB of its 7 blocks in 7 booklets of 3 (``cyclic_bib(7, 3)``): 24 items, about 60 minutes.

True parameters (logistic metric, D = 1), in the range seen in large-scale assessments
(PISA 2018 and TIMSS 2019 item parameter tables): choice items 2PL with ``ln a ~ N(0, 0.3²)``
(a ≈ 0.55–1.8) and ``b ~ N(0, 1)``; constructed-response items (share ``share_constructed``)
GPCM with three categories 0/1/2, location ``~ N(0.3, 0.8²)`` and steps ``location ∓ 0.6``.
Abilities: base year ``N(0, 1)`` (this fixes the reporting scale), current year
``N(mean_shift[subject], 1)``. Raw choice responses are letters (a wrong answer picks a
distractor uniformly); constructed responses are the score code. Two choice items per subject
carry planted DIF by sex (difficulty ``+dif`` and ``−dif`` logits for girls; ``dif_female`` in
``params``), and ``n_drifted`` anchor items per subject drift: ``anchor_drift`` logits harder in
the current year than in the base year (``drift`` in ``params``; the linking's drift check must
find them). A share ``omit_rate`` of items
is omitted at random, and a share ``not_reached_rate`` of pupils stop in the last third of the
booklet (every later item blank). Everything is vectorised and seeded.

The items' content — stems, options, pictures, rubrics — comes from the original grade-6 bank
(``junheng.synth.bank``): a choice slot takes a choice item (its right option put at the drawn
key letter) or a numeric-entry item (a constructed item with a key, scored 0/1 on the slot's 2PL
parameters; its raw response is the score code), a constructed slot a written-answer item.  The
content has its own random stream, so the parameters are drawn exactly as without it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from junheng.assessment.booklets import BookletDesign, assign_booklets, booklet_items, cyclic_bib
from junheng.assessment.items import Item, ItemBank, Usage
from junheng.synth.bank import Content, ContentPool

SUBJECTS = ("语文", "数学", "英语", "科学")
_CODE = {"语文": "C", "数学": "M", "英语": "E", "科学": "S"}
DOMAINS = {
    "语文": ("积累与运用", "阅读", "写作"),
    "数学": ("数与代数", "图形与几何", "统计与概率", "综合与实践"),
    "英语": ("听力", "语言知识", "阅读", "书面表达"),
    "科学": ("物质科学", "生命科学", "地球与宇宙", "技术与工程"),
}
MEAN_SHIFT = {"语文": 0.10, "数学": 0.15, "英语": -0.05, "科学": 0.05}


@dataclass(frozen=True)
class SynthTest:
    """What ``synth_tests`` returns: the bank, true parameters, blocks and both years' designs."""

    bank: ItemBank
    params: pl.DataFrame  # item_id, subject, model, a, b, b_1, b_2, block, anchor, year_set
    blocks: pl.DataFrame  # item_id, block, order (block ids carry the subject code)
    designs: dict[str, BookletDesign]  # current year per subject
    base_designs: dict[str, BookletDesign]  # base year per subject


def _rename(design: BookletDesign, names: tuple[str, ...]) -> tuple[tuple[str, ...], ...]:
    """The design's booklets with block ``K<i>`` renamed to ``names[i − 1]``."""
    return tuple(tuple(names[int(b[1:]) - 1] for b in bk) for bk in design.booklets)


def key_at(key: str) -> int:
    """Where the right option goes: the options before the key letter are the first distractors."""
    return "ABCD".index(key) + 1


def _domain(content: Content | None, domain: str) -> str:
    return content.domain if content is not None and content.domain else domain


def synth_tests(random_state: int, *, subjects: tuple[str, ...] = SUBJECTS, n_blocks: int = 7, items_per_block: int = 8,
                n_anchor_blocks: int = 2, share_constructed: float = 0.2, base_year: int = 2021,
                year: int = 2022, dif: float = 0.8, anchor_drift: float = 0.7, n_drifted: int = 1) -> SynthTest:
    """Items, blocks and booklet designs for every subject (see the module docstring)."""
    rng = np.random.default_rng(random_state)
    items: list[Item] = []
    rows = []
    block_rows = []
    designs, base_designs = {}, {}
    for subject in subjects:
        code = _CODE[subject]
        pool = ContentPool(subject, random_state + 7919)  # its own stream: the parameters are drawn as before
        n_only = n_blocks - n_anchor_blocks
        names = ([f"{code}A{i + 1}" for i in range(n_anchor_blocks)] + [f"{code}K{i + 1}" for i in range(n_only)]
                 + [f"{code}Y{i + 1}" for i in range(n_only)])
        for bi, block in enumerate(names):
            kind = "anchor" if bi < n_anchor_blocks else ("current" if bi < n_blocks else "base")
            for j in range(items_per_block):
                item_id = f"{code}{bi + 1:02d}{j + 1:02d}"
                cr = rng.random() < share_constructed
                a = float(np.exp(rng.normal(0.0, 0.3)))
                domain = DOMAINS[subject][(bi + j) % len(DOMAINS[subject])]
                usage = ((Usage(year=base_year, block=block),) if kind in ("anchor", "base") else ()) + \
                        ((Usage(year=year, block=block),) if kind in ("anchor", "current") else ())
                status = {"anchor": "anchor", "current": "operational", "base": "retired"}[kind]
                common = {"item_id": item_id, "subject": subject, "status": status, "usage": usage}
                if cr:
                    loc = float(rng.normal(0.3, 0.8))
                    b1, b2 = loc - 0.6, loc + 0.6
                    c = pool.take("constructed")
                    items.append(Item(**common, format="constructed", max_score=2, content_domain=_domain(c, domain),
                                      rubric=c.rubric if c else ("错误或未答", "部分正确", "完全正确"),
                                      cognitive_level="应用", stem=c.stem if c else f"{subject}建构题 {item_id}",
                                      media=c.media if c else ()))
                    rows.append((item_id, subject, "gpcm", a, loc, b1, b2, block, kind))
                else:
                    key = "ABCD"[int(rng.integers(0, 4))]
                    b = float(rng.normal(0.0, 1.0))
                    c = pool.take("choice")
                    level = ("了解", "理解", "应用")[j % 3]
                    if c is not None and c.kind == "number":  # numeric entry: 0/1 on a choice slot's parameters
                        items.append(Item(**common, format="constructed", max_score=1, key=c.key, rubric=c.rubric,
                                          content_domain=_domain(c, domain), cognitive_level=level, stem=c.stem,
                                          media=c.media))
                    else:
                        options = (tuple(c.options[1:key_at(key)] + c.options[:1] + c.options[key_at(key):])
                                   if c else tuple(f"选项{x}" for x in "ABCD"))
                        items.append(Item(**common, format="single_choice", key=key, options=options,
                                          content_domain=_domain(c, domain), cognitive_level=level,
                                          stem=c.stem if c else f"{subject}选择题 {item_id}", media=c.media if c else ()))
                    rows.append((item_id, subject, "2pl", a, b, None, None, block, kind))
                block_rows.append((item_id, block, j + 1))
        current = tuple(names[:n_blocks])
        base = tuple(names[:n_anchor_blocks] + names[n_blocks:])
        d = cyclic_bib(n_blocks, 3)
        designs[subject] = BookletDesign(blocks=current, booklets=_rename(d, current), anchor_blocks=current[:n_anchor_blocks],
                                         booklet_ids=tuple(f"{code}{i + 1:02d}" for i in range(n_blocks)))
        base_designs[subject] = BookletDesign(blocks=base, booklets=_rename(d, base), anchor_blocks=base[:n_anchor_blocks],
                                              booklet_ids=tuple(f"{code}Y{i + 1:02d}" for i in range(n_blocks)))
    params = pl.DataFrame(rows, schema={"item_id": pl.String, "subject": pl.String, "model": pl.String,
                                        "a": pl.Float64, "b": pl.Float64, "b_1": pl.Float64, "b_2": pl.Float64,
                                        "block": pl.String, "year_set": pl.String}, orient="row")
    params = params.with_columns((pl.col("year_set") == "anchor").alias("anchor"))
    # planted DIF: in each subject the first two choice items of the first current-year block are
    # harder (+dif) and easier (−dif) for girls at equal ability — for the DIF screen to find
    first = (params.filter((pl.col("year_set") == "current") & (pl.col("model") == "2pl"))
             .group_by("subject", maintain_order=True).agg(pl.col("item_id").head(2)))
    shift = {ids[0]: dif for ids in first["item_id"].to_list() if len(ids) == 2} | \
            {ids[1]: -dif for ids in first["item_id"].to_list() if len(ids) == 2}
    params = params.with_columns(pl.col("item_id").replace_strict(shift, default=0.0, return_dtype=pl.Float64)
                                 .alias("dif_female"))
    drifted = (params.filter(pl.col("anchor") & (pl.col("model") == "2pl")).group_by("subject", maintain_order=True)
               .agg(pl.col("item_id").tail(n_drifted)))["item_id"].explode().drop_nulls().to_list() if n_drifted else []
    params = params.with_columns(pl.when(pl.col("item_id").is_in(drifted)).then(anchor_drift).otherwise(0.0)
                                 .alias("drift"))
    blocks = pl.DataFrame(block_rows, schema={"item_id": pl.String, "block": pl.String, "order": pl.Int32}, orient="row")
    return SynthTest(ItemBank(tuple(items)), params, blocks, designs, base_designs)


def simulate_raw(assignment: pl.DataFrame, theta: np.ndarray, test: SynthTest, designs: dict[str, BookletDesign],
                 random_state: int, *, omit_rate: float = 0.02, not_reached_rate: float = 0.04,
                 female: np.ndarray | None = None, integer_ids: bool = False, drift: bool = False) -> pl.DataFrame:
    """Raw responses ``person_id, item_id, raw, position`` for pupils with booklets and abilities.

    ``assignment``: ``student_id, subject, booklet`` (row order matches ``theta``). ``drift``: the
    drifted anchors are harder by their ``drift`` (the current year). With
    ``integer_ids`` the ``person_id`` is the pupil's row number in ``assignment`` (Int64), which
    makes every later group-by cheaper; map back with ``assignment.with_row_index``.
    """
    rng = np.random.default_rng(random_state)
    bi = pl.concat([booklet_items(d, test.blocks) for d in designs.values()])
    pid = pl.int_range(pl.len(), dtype=pl.Int64) if integer_ids else pl.col("student_id")
    people = assignment.select(pid.alias("person_id"), "booklet").with_columns(
        pl.Series("theta", theta), pl.Series("_female", np.zeros(len(theta)) if female is None else female.astype(float)),
        pl.Series("_stop", np.where(rng.random(len(theta)) < not_reached_rate,
                                                                rng.uniform(0.67, 1.0, len(theta)), 2.0)))
    n_items = bi.group_by("booklet").agg(pl.col("position").max().alias("_len"))
    key = test.bank.to_frame().select("item_id", "key", (pl.col("format") == "constructed").alias("_written"))
    df = (people.join(bi.select("booklet", "item_id", "position"), on="booklet", how="inner")
                .join(n_items, on="booklet").join(test.params.select("item_id", "model", "a", "b", "b_1", "b_2", "dif_female", "drift"), on="item_id")
                .join(key, on="item_id"))
    th, a = df["theta"].to_numpy(), df["a"].to_numpy()
    u = rng.random(df.height)
    is_cr = (df["model"] == "gpcm").to_numpy()
    # 2PL: P(1) = 1 / (1 + exp(−a(θ − b)))
    b_eff = df["b"].to_numpy() + df["dif_female"].to_numpy() * df["_female"].to_numpy()
    if drift:
        b_eff = b_eff + df["drift"].to_numpy()
    p1 = 1.0 / (1.0 + np.exp(-a * (th - b_eff)))
    score = (u < p1).astype(np.int64)
    # GPCM with steps b_1, b_2: numerators exp(Σ_{v≤x} a(θ − b_v)), x = 0, 1, 2
    s1 = a * (th - df["b_1"].fill_null(0).to_numpy())
    s2 = s1 + a * (th - df["b_2"].fill_null(0).to_numpy())
    m = np.maximum(0, np.maximum(s1, s2))
    e0, e1, e2 = np.exp(-m), np.exp(s1 - m), np.exp(s2 - m)
    tot = e0 + e1 + e2
    cr_score = (u > e0 / tot).astype(np.int64) + (u > (e0 + e1) / tot).astype(np.int64)
    score = np.where(is_cr, cr_score, score)
    key_idx = df["key"].replace_strict({"A": 0, "B": 1, "C": 2, "D": 3}, default=0, return_dtype=pl.Int64).to_numpy()
    wrong = (key_idx + rng.integers(1, 4, df.height)) % 4
    choice = np.where(score == 1, key_idx, wrong)
    omitted = rng.random(df.height) < omit_rate
    stopped = df["position"].to_numpy() > df["_stop"].to_numpy() * df["_len"].to_numpy()
    scored_by_code = is_cr | df["_written"].to_numpy()  # constructed and numeric entry: the score code
    code = np.where(omitted | stopped, -1, np.where(scored_by_code, score, 10 + choice))
    labels = {-1: "", 0: "0", 1: "1", 2: "2", 10: "A", 11: "B", 12: "C", 13: "D"}
    raw = pl.Series("raw", code).replace_strict(labels, return_dtype=pl.String)
    return pl.DataFrame({"person_id": df["person_id"], "item_id": df["item_id"], "raw": raw,
                         "position": df["position"]})


def current_year(pupils: pl.DataFrame, test: SynthTest, random_state: int, *, mean_shift: dict[str, float] | None = None,
                 school: str = "school_code", integer_ids: bool = False, effects: pl.DataFrame | None = None,
                 base: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Booklets, true abilities and raw responses of the sampled pupils (one subject each).

    Returns ``(assignment with theta_true, raw responses)``. A ``subject`` column in ``pupils``
    (the survey sample's spiralling) is kept; otherwise subjects are spiralled within school.

    With ``effects`` (:func:`junheng.synth.truth.area_effects`) a pupil's θ is his or her expected
    θ (county, school, sex, location, and in the next year the subject shift and the county's real
    change) plus N(0, ``truth.RESIDUAL_SD``²). ``base=True`` draws the base year's cohort of the
    same schools on the base-year booklets (no shift, no change).
    """
    rng = np.random.default_rng(random_state)
    designs = test.base_designs if base else test.designs
    assignment = assign_booklets(pupils, designs, random_state=random_state, school=school)
    shift = {**MEAN_SHIFT, **(mean_shift or {})}
    extra = pupils.select("student_id", *[c for c in ("sex", "location") if c in pupils.columns])
    a2 = assignment.join(extra, on="student_id", how="left", maintain_order="left")
    female = (a2["sex"].cast(pl.Int32).fill_null(1) == 2).to_numpy() if "sex" in a2.columns else \
        np.zeros(assignment.height, dtype=bool)
    if effects is not None:
        from junheng.synth import truth

        means = truth.pupil_means(a2.rename({school: "school_code"}) if school != "school_code" else a2, effects,
                                  shift, next_year=not base)
        mu = a2.select("student_id", "subject").join(means.select("student_id", "subject", "mu"),
                                                     on=["student_id", "subject"], how="left",
                                                     maintain_order="left")["mu"].fill_null(0.0).to_numpy()
        theta = rng.normal(mu, truth.RESIDUAL_SD)
    else:
        mu = assignment["subject"].replace_strict(shift, default=0.0, return_dtype=pl.Float64).to_numpy()
        if base:
            mu = np.zeros_like(mu)
        # sex and location effects of the size reported in national monitoring (small gaps)
        eff = np.zeros(assignment.height)
        if "sex" in a2.columns:
            verbal = a2["subject"].is_in(["语文", "英语"]).to_numpy()
            eff += np.where(female & verbal, 0.15, 0.0) + np.where(~female & ~verbal, 0.05, 0.0)
        if "location" in a2.columns:
            loc = a2["location"].cast(pl.String).fill_null("")
            eff += np.where(loc.str.contains("乡|村|rural").to_numpy(), -0.2, 0.0)
        theta = rng.normal(mu + eff, 1.0)
    raw = simulate_raw(assignment, theta, test, designs, random_state + 1, female=female, integer_ids=integer_ids,
                       drift=not base)
    return assignment.with_columns(pl.Series("theta_true", theta)), raw


def base_year(test: SynthTest, n_per_subject: int, random_state: int, *, n_schools: int = 200,
              integer_ids: bool = False) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A base-year sample on the base designs (abilities N(0, 1)): ``(assignment, raw)``."""
    rng = np.random.default_rng(random_state)
    frames = []
    for subject in test.base_designs:
        frames.append(pl.DataFrame({
            "student_id": [f"Y{subject}{i:07d}" for i in range(n_per_subject)],
            "school_code": rng.integers(0, n_schools, n_per_subject).astype(str),
            "subject": [subject] * n_per_subject}))
    pupils = pl.concat(frames)
    assignment = assign_booklets(pupils, test.base_designs, random_state=random_state)
    theta = rng.standard_normal(assignment.height)
    raw = simulate_raw(assignment, theta, test, test.base_designs, random_state + 1, integer_ids=integer_ids)
    return assignment.with_columns(pl.Series("theta_true", theta)), raw
