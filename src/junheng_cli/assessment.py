"""``junheng items`` and ``junheng booklets``: the item bank and test assembly.

Thin: parse → call ``junheng.assessment`` (or the web services for the database) → print → exit.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl

from junheng.exceptions import ParameterError

_FILE = click.Path(exists=True, path_type=Path)
_OUT = click.Path(dir_okay=True, path_type=Path)


@click.group()
def items() -> None:
    """题库与作答计分 / item bank, response scoring and item analysis."""


@items.command("validate")
@click.argument("bank", type=_FILE)
def items_validate(bank: Path) -> None:
    """Check an item bank (JSON or QTI 3.0 package); every problem is listed."""
    from junheng.assessment import load_bank

    b = load_bank(bank)
    summary = b.to_frame().group_by("subject", "format").len().sort("subject", "format")
    click.echo(f"{bank.name}: {len(b)} 题 / items, 无错误 / no errors")
    for r in summary.iter_rows(named=True):
        click.echo(f"  {r['subject']} {r['format']}: {r['len']}")


@items.command("convert")
@click.argument("source", type=_FILE)
@click.argument("target", type=_OUT)
def items_convert(source: Path, target: Path) -> None:
    """Convert between JSON (``.json``) and QTI 3.0 (folder or ``.zip``); constructed items stay JSON-only."""
    from junheng.assessment import load_bank, save_bank, write_qti

    bank = load_bank(source)
    if target.suffix.lower() == ".json":
        save_bank(bank, target)
        click.echo(f"{len(bank)} items → {target}")
        return
    _, skipped = write_qti(bank, target)
    click.echo(f"{len(bank) - len(skipped)} choice items → {target}")
    if skipped:
        click.echo(f"  未导出建构反应题 / constructed-response items not exported: {', '.join(skipped)}")


@items.command("import")
@click.argument("bank", type=_FILE)
def items_import(bank: Path) -> None:
    """Import (upsert) a bank into the platform database; all or nothing."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment.services import import_item_bank

    r = import_item_bank(bank)
    click.echo(f"新增 / created {r.created}, 更新 / updated {r.updated}, 未变 / unchanged {r.unchanged}")


@items.command("export")
@click.option("-o", "--output", type=_OUT, required=True, help=".json, or a folder / .zip for QTI")
@click.option("--subject", type=click.Choice(["语文", "数学", "英语", "科学"]))
@click.option("--format", "fmt", type=click.Choice(["json", "qti"]), default="json", show_default=True)
def items_export(output: Path, subject: str | None, fmt: str) -> None:
    """Export the platform's bank as JSON or QTI 3.0."""
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment.services import export_item_bank

    path, skipped = export_item_bank(output, subject=subject, fmt=fmt)
    click.echo(f"→ {path}" + (f" (skipped {len(skipped)} constructed-response items)" if skipped else ""))


def _score(raw: Path, bank: Path, assignment: Path | None, design: tuple[str, ...], blocks: Path | None,
           not_reached: str, invalid: str):
    from junheng.assessment import (
        BookletDesign,
        MissingTreatment,
        booklet_items,
        expand_booklets,
        load_bank,
        score_responses,
    )
    from junheng.assessment.files import read_table

    b = load_bank(bank)
    resp = read_table(raw, required=("person_id", "item_id", "raw"), string_columns=("person_id", "item_id", "raw"))
    if "position" in resp.columns:
        resp = resp.with_columns(pl.col("position").cast(pl.Int32, strict=False))
    if assignment is not None:
        if not design or blocks is None:
            raise ParameterError("--booklets needs --design and --blocks")
        asg = read_table(assignment, required=("student_id", "booklet"), string_columns=("student_id", "booklet"))
        blk = read_table(blocks, required=("item_id", "block", "order")).with_columns(pl.col("order").cast(pl.Int32))
        bi = pl.concat([booklet_items(BookletDesign.from_json(json.loads(Path(d).read_text("utf-8"))), blk)
                        for d in design])
        resp = expand_booklets(resp, asg, bi)
    treatment = MissingTreatment(not_reached=0 if not_reached == "zero" else None,
                                 invalid=0 if invalid == "zero" else "error")
    return b, score_responses(resp, b, treatment=treatment, file=raw.name)


_score_options = [
    click.option("--bank", type=_FILE, required=True, help="item bank (JSON or QTI)"),
    click.option("--booklets", "assignment", type=_FILE, help="pupils' booklets: student_id, booklet"),
    click.option("--design", multiple=True, type=_FILE, help="booklet design JSON (one per subject)"),
    click.option("--blocks", type=_FILE, help="blocks: item_id, block, order"),
    click.option("--not-reached", type=click.Choice(["missing", "zero"]), default="missing", show_default=True,
                 help="missing for calibration, zero for person scores"),
    click.option("--invalid", type=click.Choice(["error", "zero"]), default="error", show_default=True),
]


def _apply(options):
    def deco(f):
        for o in reversed(options):
            f = o(f)
        return f
    return deco


@items.command("score")
@click.argument("raw", type=_FILE)
@_apply(_score_options)
@click.option("-o", "--output", type=_OUT, required=True, help="wide scored responses (.csv or .parquet)")
@click.option("--long", "long_out", type=_OUT, help="also write the long frame with each response's status")
@click.option("--mask/--no-mask", default=True, show_default=True,
              help="replace pupil ids by keyed pseudonyms (same key → same pseudonym in every file)")
def items_score(raw: Path, bank: Path, assignment, design, blocks, not_reached, invalid, output: Path, long_out,
                mask: bool) -> None:
    """Score raw responses (person_id, item_id, raw[, position]) into the wide scored frame."""
    from junheng.assessment import missing_summary, to_wide
    from junheng.assessment.files import mask_key, pseudonymise, write_table

    b, scored = _score(raw, bank, assignment, design, blocks, not_reached, invalid)
    if mask:
        scored = scored.with_columns(pseudonymise(scored["person_id"], mask_key()).alias("person_id"))
    write_table(to_wide(scored, [i.item_id for i in b if i.item_id in set(scored["item_id"].unique())]), output)
    if long_out:
        write_table(scored.with_columns(pl.col("status").cast(pl.String)), long_out)
    counts = scored.group_by("status").len().sort("status")
    click.echo(f"{scored['person_id'].n_unique()} pupils, {scored.height} responses → {output}")
    for r in counts.iter_rows():
        click.echo(f"  {r[0]}: {r[1]}")
    ms = missing_summary(scored)
    worst = ms.sort("not_reached", descending=True).head(1).row(0, named=True)
    click.echo(f"  highest not-reached share: {worst['item_id']} {worst['not_reached']:.1%}")


@items.command("analyse")
@click.argument("raw", type=_FILE)
@_apply(_score_options)
@click.option("--pupils", type=_FILE, help="pupil table with student_id and the DIF grouping columns")
@click.option("--dif", multiple=True, metavar="COL=REF,FOCAL",
              help="Mantel–Haenszel DIF by a pupils column, e.g. sex=1,2 or location=城区,乡村")
@click.option("-o", "--output", type=_OUT, required=True, help="workbook (.xlsx)")
def items_analyse(raw: Path, bank: Path, assignment, design, blocks, not_reached, invalid, pupils, dif, output) -> None:
    """Classical item analysis: p-values, item-rest r, distractors, alpha per booklet, MH DIF (ETS A/B/C)."""
    from junheng.assessment import (
        alpha_by_booklet,
        distractor_analysis,
        item_statistics,
        mantel_haenszel_dif,
        missing_summary,
    )
    from junheng.assessment.files import read_table, write_sheets

    b, scored = _score(raw, bank, assignment, design, blocks, not_reached, invalid)
    bk = None
    if assignment is not None:
        bk = read_table(assignment, string_columns=("student_id", "booklet")).select(
            pl.col("student_id").alias("person_id"), "booklet")
    sheets = {
        "items": item_statistics(scored, b.to_frame(), bk).join(
            b.to_frame().select("item_id", "subject", "format"), on="item_id", how="left"),
        "distractors": distractor_analysis(scored, b),
        "missing": missing_summary(scored),
    }
    if bk is not None:
        sheets["alpha"] = alpha_by_booklet(scored, bk)
    if dif and pupils is None:
        raise ParameterError("--dif needs --pupils")
    if dif:
        groups = read_table(pupils, required=("student_id",), string_columns=("student_id",)).rename(
            {"student_id": "person_id"})
        for spec in dif:
            try:
                col, levels = spec.split("=", 1)
                ref, foc = levels.split(",", 1)
            except ValueError:
                raise ParameterError(f"--dif must look like COL=REF,FOCAL; got {spec!r}") from None
            if col not in groups.columns:
                raise ParameterError(f"--dif: the pupils table has no column {col!r}")
            g = groups.with_columns(pl.col(col).cast(pl.String))
            sheets[f"dif_{col}"] = mantel_haenszel_dif(scored, g, group=col, reference=ref, focal=foc, booklets=bk)
    write_sheets(sheets, output)
    st = sheets["items"]
    click.echo(f"{st.height} items: mean p = {st['p_value'].mean():.3f}, mean item-rest r = {st['item_rest'].mean():.3f}")
    low = st.filter(pl.col("item_rest") < 0.2)["item_id"].to_list()
    if low:
        click.echo(f"  item-rest r < 0.20: {', '.join(low[:20])}")
    for name, t in sheets.items():
        if name.startswith("dif_"):
            flagged = t.filter(pl.col("ets").str.starts_with("C"))["item_id"].to_list()
            click.echo(f"  {name}: C = {', '.join(flagged) if flagged else '—'}")
    click.echo(f"→ {output}")


@items.command("agreement")
@click.argument("markings", type=_FILE)
def items_agreement(markings: Path) -> None:
    """Double-marking agreement per item from a file of markings (student_id, item_id, rater, score)."""
    from junheng.assessment import agreement_by_item
    from junheng.assessment.files import read_table

    m = read_table(markings, required=("student_id", "item_id", "rater", "score"),
                   string_columns=("student_id", "item_id", "rater"))
    m = m.rename({"student_id": "person_id"}).with_columns(pl.col("score").cast(pl.Int64))
    t = agreement_by_item(m)
    click.echo(f"{'item':<10}{'n':>6}{'exact':>8}{'adjacent':>10}{'kappa':>8}{'QWK':>8}")
    for r in t.iter_rows(named=True):
        click.echo(f"{r['item_id']:<10}{r['n_double']:>6}{r['exact']:>8.3f}{r['adjacent']:>10.3f}"
                   f"{r['kappa']:>8.3f}{r['kappa_quadratic']:>8.3f}")


@click.group()
def booklets() -> None:
    """题本设计与分配 / booklet designs, block assembly and booklet assignment."""


@booklets.command("design")
@click.option("--blocks", "v", type=int, required=True, help="number of blocks")
@click.option("--per-booklet", "k", type=int, required=True, help="blocks per booklet")
@click.option("--anchor-blocks", type=int, default=0, show_default=True)
@click.option("--prefix", default="K", show_default=True)
@click.option("-o", "--output", type=_OUT, required=True, help="design JSON")
def booklets_design(v: int, k: int, anchor_blocks: int, prefix: str, output: Path) -> None:
    """A cyclic balanced incomplete block design (BIB where a difference set exists)."""
    from junheng.assessment import cyclic_bib

    d = cyclic_bib(v, k, prefix=prefix, anchor_blocks=anchor_blocks)
    output.write_text(json.dumps(d.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    for bid, bk in zip(d.booklet_ids, d.booklets):
        click.echo(f"  {bid}: {' '.join(bk)}")
    click.echo(f"blocks balanced: {d.blocks_balanced}; positions balanced: {d.positions_balanced}; "
               f"pairs balanced: {d.pairs_balanced}")
    click.echo(f"→ {output}")


@booklets.command("assemble")
@click.argument("bank", type=_FILE)
@click.option("--subject", type=click.Choice(["语文", "数学", "英语", "科学"]), required=True)
@click.option("--blocks", "n_blocks", type=int, required=True)
@click.option("--anchor-blocks", type=int, default=0, show_default=True)
@click.option("--prefix", default="K", show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("-o", "--output", type=_OUT, required=True, help="blocks table: item_id, block, order")
def booklets_assemble(bank: Path, subject: str, n_blocks: int, anchor_blocks: int, prefix: str, seed: int,
                      output: Path) -> None:
    """Deal a subject's items into blocks (anchor-status items into the anchor blocks), domains spread evenly."""
    from junheng.assessment import assemble_blocks, load_bank
    from junheng.assessment.files import write_table

    frame = load_bank(bank).for_subject(subject).to_frame().filter(pl.col("status") != "retired")
    anchors = frame.filter(pl.col("status") == "anchor")["item_id"].to_list()
    out = assemble_blocks(frame, n_blocks, anchors=anchors, n_anchor_blocks=anchor_blocks, seed=seed, prefix=prefix)
    write_table(out, output)
    for r in out.group_by("block").len().sort("block").iter_rows():
        click.echo(f"  {r[0]}: {r[1]} items")
    click.echo(f"→ {output}")


@booklets.command("assign")
@click.argument("pupils", type=_FILE)
@click.option("--design", "designs", multiple=True, required=True, metavar="SUBJECT=DESIGN.json",
              help="one per subject, e.g. 数学=math.json")
@click.option("--seed", type=int, required=True)
@click.option("--mask/--no-mask", default=True, show_default=True,
              help="replace 学籍号 by keyed pseudonyms; --no-mask for the test sites' own lists")
@click.option("-o", "--output", type=_OUT, required=True)
def booklets_assign(pupils: Path, designs: tuple[str, ...], seed: int, mask: bool, output: Path) -> None:
    """Spiral subjects and booklets within school over a pupil table (student_id, school_code[, subject])."""
    from junheng.assessment import BookletDesign, assign_booklets
    from junheng.assessment.files import mask_key, pseudonymise, read_table, write_table

    parsed = {}
    for spec in designs:
        subject, _, path = spec.partition("=")
        if not path or not Path(path).exists():
            raise ParameterError(f"--design must be SUBJECT=FILE with an existing file; got {spec!r}")
        parsed[subject] = BookletDesign.from_json(json.loads(Path(path).read_text("utf-8")))
    p = read_table(pupils, required=("student_id", "school_code"), string_columns=("student_id", "school_code"))
    out = assign_booklets(p, parsed, seed=seed)
    write_table(out.with_columns(pseudonymise(out["student_id"], mask_key()).alias("student_id")) if mask else out,
                output)
    for r in out.group_by("subject", "booklet").len().sort("subject", "booklet").iter_rows():
        click.echo(f"  {r[0]} {r[1]}: {r[2]}")
    click.echo(f"→ {output}")


# ---------------------------------------------------------------------------------------------
# demo stage


def _demo_pupils(ctx) -> pl.DataFrame | None:
    if "sample" in ctx.state:
        return pl.read_parquet(ctx.state["sample"])
    if "pupils" in ctx.state:
        roster = pl.read_parquet(ctx.state["pupils"])
        if "grade" in roster.columns:
            roster = roster.filter(pl.col("grade") == 6)
        return roster.sample(fraction=0.1, seed=ctx.seed)
    return None


def demo_stage(ctx) -> None:
    """Demo: synthetic items and booklets → responses of the sampled pupils → scoring → classical
    analysis → IRT calibration, linking to the base year, EAP + 5 PVs, levels (via ``junheng.irt``)."""
    import time

    from junheng.assessment import (
        CALIBRATION,
        alpha_by_booklet,
        booklet_items,
        distractor_analysis,
        item_statistics,
        mantel_haenszel_dif,
        missing_summary,
        save_bank,
        score_responses,
    )
    from junheng.assessment.files import write_sheets
    from junheng.synth.responses import base_year, current_year, synth_tests

    pupils = _demo_pupils(ctx)
    if pupils is None:
        click.echo("   (no pupils yet: the registry import or sampling stage must run first; skipped)")
        return
    out = ctx.out / "academic"
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    test = synth_tests(ctx.seed)
    save_bank(test.bank, out / "item_bank.json")
    ctx.output("academic item bank (JSON)", out / "item_bank.json")
    (out / "designs.json").write_text(json.dumps(
        {s: d.to_json() for s, d in test.designs.items()}, ensure_ascii=False, indent=1), encoding="utf-8")
    # pupils are numbered (person_id = row of ``asg``) so the analysis groups by integers, not 学籍号
    asg, raw = current_year(pupils, test, ctx.seed, integer_ids=True)
    asg = asg.with_row_index("person_id").with_columns(pl.col("person_id").cast(pl.Int64))
    n_base = max(1000, min(10000, pupils.height // 16))
    base_asg, base_raw = base_year(test, n_base, ctx.seed + 7, integer_ids=True)
    click.echo(f"   {asg.height} pupils × 24 items ({raw.height} responses); base year {base_asg.height} pupils "
               f"({time.perf_counter() - t0:.1f} s)")

    # the platform's record: bank, designs and assignments (all or nothing)
    from junheng_web.bootstrap import setup

    setup()
    from junheng_web.assessment import services
    from junheng_web.fitness.services import demo_cycle

    t = time.perf_counter()
    cycle = demo_cycle(ctx)
    services.import_item_bank(test.bank)
    from junheng_web.assessment.models import BookletAssignment

    BookletAssignment.objects.filter(cycle=cycle).delete()
    for subject, design in test.designs.items():
        services.save_design(cycle, subject, design, test.blocks.filter(pl.col("block").is_in(design.blocks)))
    services.assign(cycle, pupils.select("student_id", "school_code", *(["subject"] if "subject" in pupils.columns else [])),
                    seed=ctx.seed)
    click.echo(f"   题库/题本/分配已入库 / bank, designs and assignments stored ({time.perf_counter() - t:.1f} s)")

    t = time.perf_counter()
    scored = score_responses(raw, test.bank, treatment=CALIBRATION)
    base_scored = score_responses(base_raw, test.bank, treatment=CALIBRATION)
    bk = asg.select("person_id", "booklet")
    background = pupils.select("student_id", *[pl.col(c).cast(pl.String) for c in ("sex", "location")
                                               if c in pupils.columns])
    groups = asg.select("person_id", "student_id").join(background, on="student_id", how="left").drop("student_id")
    sheets = {"items": item_statistics(scored, test.bank.to_frame(), bk).join(
                  test.params.select("item_id", "subject", "model", "block", "anchor"), on="item_id"),
              "distractors": distractor_analysis(scored, test.bank), "alpha": alpha_by_booklet(scored, bk),
              "missing": missing_summary(scored)}
    if "sex" in groups.columns:
        sheets["dif_sex"] = mantel_haenszel_dif(scored, groups, group="sex", reference="1", focal="2", booklets=bk)
    if "location" in groups.columns:
        locs = groups["location"].drop_nulls().unique().sort().to_list()
        urban = next((x for x in locs if "城" in x), locs[0] if locs else None)
        rural = next((x for x in locs if "乡" in x or "村" in x), locs[-1] if locs else None)
        if urban and rural and urban != rural:
            sheets["dif_location"] = mantel_haenszel_dif(scored, groups, group="location", reference=urban,
                                                         focal=rural, booklets=bk)
    write_sheets(sheets, out / "item_analysis.xlsx")
    ctx.output("academic item analysis", out / "item_analysis.xlsx")
    st = sheets["items"]
    click.echo(f"   计分与经典分析 / scored and analysed: mean p {st['p_value'].mean():.2f}, "
               f"mean item-rest r {st['item_rest'].mean():.2f}, alpha {sheets['alpha']['alpha'].min():.2f}–"
               f"{sheets['alpha']['alpha'].max():.2f} ({time.perf_counter() - t:.1f} s)")
    for name in ("dif_sex", "dif_location"):
        if name in sheets:
            counts = sheets[name].group_by(pl.col("ets").str.slice(0, 1)).len().sort("ets")
            click.echo(f"   {name}: " + ", ".join(f"{r[0]} {r[1]}" for r in counts.iter_rows()))
    _ = booklet_items  # (kept for readers: the booklet → item positions used by the synthetic responses)

    t = time.perf_counter()
    scores = _irt_steps(ctx, test, scored, base_scored, asg, out, groups)
    if scores is None:
        return
    path = out / "scores.parquet"
    scores.write_parquet(path)
    ctx.state["academic_scores"] = path
    ctx.output("academic pupil scores", path)
    click.echo(f"   IRT 标定、链接、计分 / calibrated, linked, scored ({time.perf_counter() - t:.1f} s)")
    _store_demo_scores(cycle, scores)
    lv = scores.group_by("subject").agg(pl.col("scale_score").mean().alias("mean"),
                                        (pl.col("level") >= 2).mean().alias("mid_plus"))
    for r in lv.sort("subject").iter_rows(named=True):
        click.echo(f"   {r['subject']}: 平均 {r['mean']:.0f}, 中等及以上 {r['mid_plus']:.1%}")


def _store_demo_scores(cycle, scores: pl.DataFrame) -> None:
    """The platform's record of the scores (what the academic dashboard and the progress page read),
    when the sample is in the database (the sample stage saved it)."""
    import time

    from junheng_web.assessment.services import store_scores
    from junheng_web.sampling.models import SampledPupil

    if not SampledPupil.objects.filter(cycle=cycle).exists():
        click.echo("   (no sample in the database: scores kept as a file only)")
        return
    t = time.perf_counter()
    r = store_scores(cycle, scores, file="scores.parquet")
    click.echo(f"   成绩已入库 / scores stored: {r.created} new, {r.updated} updated, {r.unchanged} unchanged "
               f"({time.perf_counter() - t:.1f} s)")


CUTS = (400.0, 500.0, 600.0)
"""Demo cut scores on the reporting scale: 水平Ⅰ 待提高 < 400 ≤ Ⅱ 中等 < 500 ≤ Ⅲ 良好 < 600 ≤ Ⅳ 优秀
(about 84 % 中等及以上 in the base year, near the national 2018–2019 figures of POLICY §2.3)."""


def _irt_api():
    """``junheng.irt``'s entry points: (calibrate, eap, plausible_values, ReportingScale, levels), or
    ``None`` for each that has not landed yet."""
    import importlib

    def get(mod: str, name: str):
        try:
            return getattr(importlib.import_module(mod), name)
        except (ImportError, AttributeError):
            return None

    irt = importlib.import_module("junheng.irt")
    pick = lambda name, mod: getattr(irt, name, None) or get(mod, name)  # noqa: E731
    return (pick("calibrate", "junheng.irt.calibration"), pick("eap", "junheng.irt.scoring"),
            pick("plausible_values", "junheng.irt.scoring"), pick("ReportingScale", "junheng.irt.linking"),
            pick("levels", "junheng.irt.linking"))


def _irt_steps(ctx, test, scored, base_scored, asg, out, pupils: pl.DataFrame | None = None) -> pl.DataFrame | None:
    """Per subject: calibrate the base year (its population fixes the θ scale); calibrate this
    year with the anchor items fixed at their base-year values (fixed-anchor linking), so this
    year's θ is on the base scale; base-year plausible values fix the reporting scale (mean 500,
    SD 100 in the base year); this year's EAP (prior: this year's estimated latent distribution)
    and 5 plausible values conditioned on sex and location (latent regression); levels from
    ``CUTS``. Everything statistical is ``junheng.irt``'s."""
    from junheng.assessment import to_wide

    calibrate, eap, plausible_values, ReportingScale, levels = _irt_api()
    if calibrate is None:
        click.echo("   (junheng.irt is not available yet: calibration, linking and scoring skipped)")
        return None
    scoring = None not in (eap, plausible_values, ReportingScale, levels)
    anchors = set(test.params.filter(pl.col("anchor"))["item_id"].to_list())
    background = [c for c in ("sex", "location") if pupils is not None and c in pupils.columns]
    # ``pupils`` here is keyed by ``person_id`` (the demo's integer pupil numbers)
    item_tables, score_frames, scales = [], [], {}
    for subject in test.designs:  # one line per subject as it finishes (the progress report)
        ids = test.params.filter(pl.col("subject") == subject)["item_id"].to_list()
        bw = _drop_empty(to_wide(base_scored.filter(pl.col("item_id").is_in(ids))))
        base = calibrate(bw, "2pl", se=None, tol=1e-3)
        fixed = base.items_.filter(pl.col("item").is_in(list(anchors)))
        cw = _drop_empty(to_wide(scored.filter(pl.col("item_id").is_in(ids))))
        # no item SEs in the demo (they would double its IRT time); `junheng irt calibrate` reports them
        cur = calibrate(cw, "2pl", fixed_items=fixed, tol=1e-3, se=None)
        mu, sd = next(iter(cur.group_means_.values())), next(iter(cur.group_sds_.values()))
        truth = asg.filter(pl.col("subject") == subject)["theta_true"]
        click.echo(f"   {subject}: base ℓ = {base.loglik_:.1f} ({base.n_iter_} EM cycles, converged {base.converged_}); "
                   f"this year ℓ = {cur.loglik_:.1f} ({cur.n_iter_} cycles, converged {cur.converged_}); "
                   f"latent mean {mu:+.3f} SD {sd:.3f} on the base scale (generated: {truth.mean():+.3f}, "
                   f"{truth.std():.3f})")
        item_tables.append(cur.items_.with_columns(pl.lit(subject).alias("subject"),
                                                   pl.col("item").is_in(list(anchors)).alias("anchor")))
        if not scoring:
            continue
        base_pv = plausible_values(base, bw, n=1, random_state=ctx.seed)
        scale = ReportingScale(500.0, 100.0).fit(base_pv["pv1"].to_numpy())
        scales[subject] = scale.to_dict()
        e = eap(cur, cw, prior_mean=mu, prior_sd=sd)
        cond = cw
        if background:
            bg = pupils.select("person_id", *[pl.col(c).cast(pl.String).fill_null("?") for c in background])
            cond = cw.join(bg, on="person_id", how="left").with_columns(
                [pl.col(c).fill_null("?") for c in background])
        pv = plausible_values(cur, cond, n=5, conditioning=background or None, prior_mean=mu, prior_sd=sd,
                              random_state=ctx.seed + 1)
        sc = e.join(pv, on="person_id")
        pv_cols = [f"pv{k}" for k in range(1, 6)]
        sc = sc.with_columns(pl.Series("scale_score", scale.transform(sc["theta_eap"].to_numpy())),
                             *[pl.Series(c, scale.transform(sc[c].to_numpy())) for c in pv_cols])
        sc = sc.with_columns(pl.Series("level", levels(sc["scale_score"].to_numpy(), CUTS)),
                             *[pl.Series(f"level_{c}", levels(sc[c].to_numpy(), CUTS)) for c in pv_cols])
        score_frames.append(sc.with_columns(pl.lit(subject).alias("subject")))
    items = pl.concat(item_tables, how="diagonal_relaxed")
    items.write_csv(out / "items_calibrated.csv")
    ctx.output("academic item parameters (linked to the base year)", out / "items_calibrated.csv")
    if not score_frames:
        click.echo("   (junheng.irt has no person scoring yet: EAP / plausible values skipped)")
        return None
    (out / "reporting_scale.json").write_text(json.dumps(scales, ensure_ascii=False, indent=1), encoding="utf-8")
    pv = [f"pv{k}" for k in range(1, 6)]
    s = pl.concat(score_frames).join(asg.select("person_id", "student_id"), on="person_id", how="left")
    return s.select("student_id", "subject", "theta_eap", "theta_se", *pv,
                    *[pl.col(f"level_{c}").cast(pl.Int8) for c in pv], "scale_score", pl.col("level").cast(pl.Int8))


def _drop_empty(wide: pl.DataFrame) -> pl.DataFrame:
    """Drop item columns nobody has a score on (e.g. a base-only item in this year's frame)."""
    return wide.select("person_id", *[c for c in wide.columns[1:] if wide[c].null_count() < wide.height])
