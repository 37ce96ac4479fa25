"""``junheng materials``: the printed test-day tools — seating plans, login cards, OMR answer sheets
and the reader of scanned sheets.  Thin: files in → :mod:`junheng.materials` → files out."""

from __future__ import annotations

import tempfile
from pathlib import Path

import click
import polars as pl

from junheng.exceptions import InputError, Issue, ParameterError
from junheng.io import read_json
from junheng_cli.assessment import DESIGN_FILE
from junheng_cli.progress import bar, fraction_bar

_FILE = click.Path(exists=True, dir_okay=False, path_type=Path)
_OUT = click.Path(dir_okay=False, path_type=Path)
SHOW_PERSONAL = click.option("--show-personal", is_flag=True, default=False,
                             help="print 姓名/学籍号 unmasked (masked by default)")
_STRINGS = ("student_id", "name", "school_code", "booklet", "subject", "room", "site")


@click.group()
def materials() -> None:
    """测试工具 / test-day materials: seating plans, login cards, OMR answer sheets and their reader."""


def _pupils(path: Path, subject: str | None) -> pl.DataFrame:
    from junheng.io import read_input as read_table

    df = read_table(path, required=("student_id",), string_columns=_STRINGS)
    if subject:
        if "subject" not in df.columns:
            raise InputError(Issue("缺少列", "missing column", file=path.name, column="subject"))
        df = df.filter(pl.col("subject") == subject)
    if df.height == 0:
        raise ParameterError(f"{path.name}: 没有学生 / no pupils" + (f" of subject {subject}" if subject else ""))
    return df


def _write(frame: pl.DataFrame, path: Path) -> None:
    from junheng.io import write_table

    write_table(frame, path)


@materials.command("seating")
@click.argument("pupils", type=_FILE)
@click.option("--room", "rooms", multiple=True, required=True,
              help="a room as NAME:ROWSxCOLS[:CAPACITY], e.g. 101:6x8 (repeat for several rooms, filled in order)")
@click.option("--seed", type=int, required=True, help="the seed of the plan (same pupils + seed → same plan)")
@click.option("--subject", help="seat only the pupils of this subject (column subject)")
@click.option("--title", default="座位表", show_default=True, help="title printed on each page")
@click.option("--meta", default="", help="a line under the title (site, date, session)")
@click.option("-o", "--out", "outs", multiple=True, type=_OUT, required=True,
              help="output by suffix: .pdf (print), .xlsx (list + one grid sheet per room), .csv/.parquet (the frame)")
@SHOW_PERSONAL
def seating(pupils: Path, rooms: tuple[str, ...], seed: int, subject: str | None, title: str, meta: str,
            outs: tuple[Path, ...], show_personal: bool) -> None:
    """Seat the pupils in the rooms: same school and same booklet apart where possible."""
    from junheng.fitness import mask_personal
    from junheng.materials import Room, seating_html, seating_plan, seating_xlsx, write_pdf

    room_list = [Room.parse(r) for r in rooms]
    with bar(1 + len(outs), "座位表 / seating", unit="file") as b:
        plan = seating_plan(_pupils(pupils, subject), room_list, random_state=seed)
        b.update(1)
        for out in outs:
            suffix = out.suffix.lower()
            if suffix == ".pdf":
                write_pdf(seating_html(plan, room_list, title=title, meta=meta, unmask=show_personal), out)
            elif suffix == ".xlsx":
                seating_xlsx(plan, room_list, out, unmask=show_personal)
            else:
                _write(plan if show_personal else mask_personal(plan), out)
            b.update(1)
    conflicts = int(plan["conflicts"].sum()) // 2
    click.echo(f"{plan.height} 名学生，{len(room_list)} 个考场，相邻同校/同题本 {conflicts} 处 → "
               + ", ".join(map(str, outs)))
    click.echo(f"{plan.height} pupils in {len(room_list)} rooms, {conflicts} same-school/booklet neighbour pairs")


@materials.command("cards")
@click.argument("pupils", type=_FILE)
@click.option("--seed", type=int, required=True, help="seed of the login codes (keep it secret)")
@click.option("--subject", help="cards only for the pupils of this subject")
@click.option("--site", help="test-site name printed on every card (else the file's site column)")
@click.option("--title", default="学业质量监测 登录卡", show_default=True)
@click.option("-o", "--out", type=_OUT, required=True, help="the cards PDF (8 cards per A4 page, cut lines)")
@click.option("--codes", type=_OUT, required=True,
              help="the login codes (student_id, code; .csv/.xlsx/.parquet) for the browser test — keep it safe")
@SHOW_PERSONAL
def cards(pupils: Path, seed: int, subject: str | None, site: str | None, title: str, out: Path, codes: Path,
          show_personal: bool) -> None:
    """One login card per pupil with a one-time login code and its QR code; PUPILS may be a seating plan."""
    from junheng.materials import cards_html, login_codes, write_pdf

    with bar(3, "登录卡 / cards", unit="step") as b:
        df = _pupils(pupils, subject)
        if df["student_id"].str.contains("*", literal=True).any():
            raise ParameterError("学籍号已脱敏，无法对应登录码；请用 --show-personal 导出的座位表 / masked student_id: "
                                 "use a seating plan written with --show-personal")
        sort = [c for c in ("room", "seat", "student_id") if c in df.columns]
        df = df.sort(sort)
        table = login_codes(df["student_id"], random_state=seed)
        frame = df.join(table, on="student_id", how="left", maintain_order="left")
        if site:
            frame = frame.with_columns(pl.lit(site).alias("site"))
        b.update(1)
        write_pdf(cards_html(frame, title=title, unmask=show_personal), out)
        b.update(1)
        _write(table, codes)
        b.update(1)
    click.echo(f"{table.height} 张登录卡 / login cards → {out}; 登录码 / codes → {codes}")


@materials.command("sheet")
@click.argument("bank", type=_FILE)
@click.option("--design", "designs", multiple=True, type=_FILE, required=True, help="booklet design JSON")
@click.option("--blocks", type=_FILE, required=True, help="blocks: item_id, block, order")
@click.option("--booklet", "booklets", multiple=True, help="only these booklets (default: every booklet)")
@click.option("--id-digits", type=click.IntRange(1, 19), default=None,
              help="a seat-number grid of this many digits instead of the 19-character 学籍号 grid")
@click.option("-o", "--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="folder: <booklet>.pdf (the sheet) and <booklet>.layout.json (for `junheng materials omr`)")
def sheet(bank: Path, designs: tuple[Path, ...], blocks: Path, booklets: tuple[str, ...], id_digits: int | None,
          out: Path) -> None:
    """Answer sheets (答题卡) for paper testing, one per booklet, with the layout file the reader needs."""
    from junheng.assessment import BookletDesign, booklet_items, load_bank
    from junheng.io import read_input as read_table
    from junheng.materials import layout_for_booklet, sheets_html, write_pdf

    frame = load_bank(bank).to_frame()
    blk = read_table(blocks, required=("item_id", "block", "order")).with_columns(pl.col("order").cast(pl.Int32))
    bi = pl.concat([booklet_items(BookletDesign.from_json(read_json(d, what=DESIGN_FILE)), blk) for d in designs])
    names = list(booklets) or bi["booklet"].unique(maintain_order=True).to_list()
    out.mkdir(parents=True, exist_ok=True)
    with bar(len(names), "答题卡 / sheets", unit="sheet") as b:
        for name in names:
            layout = layout_for_booklet(bi, frame, name, id_digits=id_digits)
            write_pdf(sheets_html([layout]), out / f"{name}.pdf")
            (out / f"{name}.layout.json").write_text(layout.to_json(), encoding="utf-8")
            b.update(1)
    click.echo(f"{len(names)} 种答题卡 / answer sheets → {out}")


def _pages(paths: tuple[Path, ...], tmp: Path, dpi: int) -> list[tuple[str, Path]]:
    from junheng.materials import scan_pages

    return scan_pages([(p.name, p) for p in paths], tmp, dpi)


def _layouts(path: Path):
    from junheng.materials import SheetLayout

    if path.is_dir():
        files = sorted(path.glob("*.layout.json"))
        if not files:
            raise ParameterError(f"{path}: 文件夹中没有 *.layout.json / no *.layout.json in the folder")
        return [SheetLayout.load(f) for f in files]
    return [SheetLayout.load(path)]


def _issue_frame(found: list) -> pl.DataFrame:
    cols = ("file", "sheet", "row", "column", "value", "rule_zh", "rule_en", "severity", "message")
    schema = {c: pl.Int64 if c == "row" else pl.String for c in cols}
    return (pl.DataFrame([i.as_dict() for i in found], schema=schema, orient="row") if found
            else pl.DataFrame(schema=schema))


@materials.command("omr")
@click.argument("layout", type=click.Path(exists=True, path_type=Path))
@click.argument("scans", nargs=-1, required=True, type=_FILE)
@click.option("-o", "--out", type=_OUT, required=True,
              help="raw responses (person_id, item_id, raw, status, …, confidence, review): .csv/.xlsx/.parquet")
@click.option("--issues", type=_OUT, help="every issue per sheet (file, column, rule, value) as .csv/.xlsx")
@click.option("--review", type=_OUT, help="the manual-review queue: low-confidence and light bubbles, worst first")
@click.option("--sheets", "sheets_out", type=_OUT, help="one row per scan: content hash, status, booklet, id, turn")
@click.option("--annotated", type=click.Path(file_okay=False, path_type=Path),
              help="folder for each read sheet's straightened page with what was read drawn on it")
@click.option("--dpi", type=click.IntRange(50, 600), default=150, show_default=True, help="resolution for rendering scanned PDFs")
def omr(layout: Path, scans: tuple[Path, ...], out: Path, issues: Path | None, review: Path | None,
        sheets_out: Path | None, annotated: Path | None, dpi: int) -> None:
    """Read scanned answer sheets (PNG/JPEG, or PDF pages).  LAYOUT: one <booklet>.layout.json, or
    the folder of `materials sheet` (every booklet: each sheet's QR code picks its layout)."""
    from junheng.materials import read_batch

    lays = _layouts(layout)
    with tempfile.TemporaryDirectory() as tmp:
        pages = _pages(scans, Path(tmp), dpi)
        with fraction_bar("读卡 / reading") as report:
            batch = read_batch(pages, lays, annotate_dir=annotated, progress=report)
    found = batch.issues
    _write(batch.responses, out)
    if issues is not None:
        _write(_issue_frame(found), issues)
    if review is not None:
        _write(batch.review_queue(), review)
    if sheets_out is not None:
        _write(batch.sheets, sheets_out)
    for i in found[:50]:
        click.echo(("  [警告/warning] " if i.severity == "warning" else "  ") + i.message(), err=True)
    if len(found) > 50:
        click.echo(f"  … (+{len(found) - 50})", err=True)
    n = int((batch.sheets["status"] == "read").sum())
    n_review = batch.review_queue().height
    click.echo(f"{n}/{len(pages)} 张答题卡已读，问题 {len(found)} 条，待人工核对的涂点 {n_review} 个 → {out}")
    click.echo(f"{n}/{len(pages)} sheets read, {len(found)} issues, {n_review} bubbles for manual review")
