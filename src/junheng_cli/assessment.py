"""``junheng items`` and ``junheng booklets``: the item bank and test assembly.

Thin: parse → call ``junheng.assessment`` (or the web services for the database) → print → exit.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import polars as pl

from junheng.exceptions import ParameterError
from junheng.io import read_json

DESIGN_FILE = ("题本设计文件", "booklet design file")  # what a --design file is, in its read errors

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
    from junheng.io import read_input as read_table

    b = load_bank(bank)
    resp = read_table(raw, required=("person_id", "item_id", "raw"), string_columns=("person_id", "item_id", "raw"))
    if "position" in resp.columns:
        resp = resp.with_columns(pl.col("position").cast(pl.Int32, strict=False))
    if assignment is not None:
        if not design or blocks is None:
            raise ParameterError("--booklets 须同时给出 --design 和 --blocks / --booklets needs --design and --blocks")
        asg = read_table(assignment, required=("student_id", "booklet"), string_columns=("student_id", "booklet"))
        blk = read_table(blocks, required=("item_id", "block", "order")).with_columns(pl.col("order").cast(pl.Int32))
        bi = pl.concat([booklet_items(BookletDesign.from_json(read_json(d, what=DESIGN_FILE)), blk) for d in design])
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
    from junheng.assessment import mask_key, missing_summary, pseudonymise, to_wide
    from junheng.io import write_table

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
    from junheng.assessment import item_analysis
    from junheng.io import read_input as read_table
    from junheng.io import write_sheets

    b, scored = _score(raw, bank, assignment, design, blocks, not_reached, invalid)
    bk = None
    if assignment is not None:
        bk = read_table(assignment, string_columns=("student_id", "booklet")).select(
            pl.col("student_id").alias("person_id"), "booklet")
    if dif and pupils is None:
        raise ParameterError("--dif 须同时给出 --pupils / --dif needs --pupils")
    groups, pairs = None, []
    if dif:
        groups = read_table(pupils, required=("student_id",), string_columns=("student_id",)).rename(
            {"student_id": "person_id"})
        for spec in dif:
            try:
                col, levels = spec.split("=", 1)
                ref, foc = levels.split(",", 1)
            except ValueError:
                raise ParameterError(f"--dif 应为 列=参照组,焦点组 / --dif must look like COL=REF,FOCAL; got {spec!r}") from None
            if col not in groups.columns:
                raise ParameterError(f"--dif: 学生表中没有列 {col!r} / the pupils table has no column {col!r}")
            groups = groups.with_columns(pl.col(col).cast(pl.String))
            pairs.append((col, ref, foc))
    sheets = item_analysis(scored, b, booklets=bk, groups=groups, dif=tuple(pairs))
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
    from junheng.io import read_input as read_table

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
    from junheng.io import write_table

    frame = load_bank(bank).for_subject(subject).to_frame().filter(pl.col("status") != "retired")
    anchors = frame.filter(pl.col("status") == "anchor")["item_id"].to_list()
    out = assemble_blocks(frame, n_blocks, anchors=anchors, n_anchor_blocks=anchor_blocks, random_state=seed, prefix=prefix)
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
    from junheng.assessment import BookletDesign, assign_booklets, mask_key, pseudonymise
    from junheng.io import read_input as read_table
    from junheng.io import write_table

    parsed = {}
    for spec in designs:
        subject, _, path = spec.partition("=")
        if not path or not Path(path).exists():
            raise ParameterError(f"--design 应为 学科=文件（文件须存在） / --design must be SUBJECT=FILE with an existing file; got {spec!r}")
        parsed[subject] = BookletDesign.from_json(read_json(path, what=DESIGN_FILE))
    p = read_table(pupils, required=("student_id", "school_code"), string_columns=("student_id", "school_code"))
    out = assign_booklets(p, parsed, random_state=seed)
    write_table(out.with_columns(pseudonymise(out["student_id"], mask_key()).alias("student_id")) if mask else out,
                output)
    for r in out.group_by("subject", "booklet").len().sort("subject", "booklet").iter_rows():
        click.echo(f"  {r[0]} {r[1]}: {r[2]}")
    click.echo(f"→ {output}")
