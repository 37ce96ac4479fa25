"""``junheng irt``: calibrate item parameters and score persons (thin layer over ``junheng.irt``)."""

from __future__ import annotations

from pathlib import Path

import click
import polars as pl

from junheng.io import read_frame, write_table

MODELS = ["rasch", "2pl", "3pl", "pcm", "gpcm", "grm"]


def _read(path: Path) -> pl.DataFrame:
    """CSV (UTF-8 with or without BOM, GB18030) or Parquet; CSV cells are read as text and checked by the core."""
    return read_frame(path)


def _numeric_items(frame: pl.DataFrame) -> pl.DataFrame:
    num = [c for c in ("a", "b", "c") if c in frame.columns] + [c for c in frame.columns if c.startswith(("b_", "se_"))]
    return frame.with_columns([pl.col(c).cast(pl.Float64, strict=False) for c in num])


@click.group()
def irt() -> None:
    """项目反应理论：标定与计分 / item response theory: calibration and scoring."""


@irt.command()
@click.argument("responses", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", type=click.Choice(MODELS), default="2pl", show_default=True,
              help="模型（多级计分题自动用对应的多级模型）/ model; polytomous items use its polytomous counterpart")
@click.option("--groups", "group", default=None, help="分组列，各组潜在均值与标准差 / group column (own latent mean and SD)")
@click.option("--columns", default=None, metavar="COL,COL,…",
              help="题目列 / the item columns (default: every column but person_id, student_id and --groups)")
@click.option("--anchors", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help="固定锚题参数的 ITEMS.csv（固定锚题标定）/ ITEMS.csv of anchor items held fixed")
@click.option("--n-quad", default=61, show_default=True, help="积分点数 / quadrature nodes")
@click.option("--tol", default=1e-4, show_default=True, help="EM 收敛标准 / EM convergence tolerance")
@click.option("--max-iter", default=500, show_default=True, help="最大 EM 轮数 / maximum EM cycles")
@click.option("--se", type=click.Choice(["observed", "xpd", "none"]), default="observed", show_default=True,
              help="标准误 / standard errors")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="ITEMS.csv")
def calibrate(responses: Path, model: str, group: str | None, columns: str | None, anchors: Path | None, n_quad: int,
              tol: float, max_iter: int, se: str, output: Path) -> None:
    """标定项目参数 / calibrate item parameters by marginal maximum likelihood (EM)."""
    from junheng import irt as core
    from junheng_cli.progress import bar

    frame = _read(responses)
    fixed = _numeric_items(_read(anchors)) if anchors else None
    with bar(max_iter, "EM") as b:
        def tick(cycle: int, loglik: float, change: float) -> None:
            b.update(1)
            b.set_postfix(loglik=f"{loglik:.2f}", change=f"{change:.1e}")

        fit = core.IRTModel(model, n_quad=n_quad, tol=tol, max_iter=max_iter, se=None if se == "none" else se,
                            fixed_items=fixed, callback=tick).fit(
                                frame, group=group, items=[c.strip() for c in columns.split(",")] if columns else None)
    write_table(fit.items_, output, encoding="utf-8")
    click.echo(f"对数似然 / log-likelihood: {fit.loglik_:.4f}")
    click.echo(f"EM 轮数 / EM cycles: {fit.n_iter_}")
    click.echo(f"收敛 / converged: {'是 yes' if fit.converged_ else '否 no'} (tol {tol:g})")
    if len(fit.group_means_) > 1 or fixed is not None:
        for g in fit.group_means_:
            click.echo(f"  组 group {g}: mean {fit.group_means_[g]:.4f}, SD {fit.group_sds_[g]:.4f}")
    click.echo(f"{fit.items_.height} 题 / items → {output}")
    if not fit.converged_:
        click.echo(f"[警告/warning] 未在 {max_iter} 轮内收敛 / not converged within {max_iter} cycles: "
                   "raise --max-iter or check the items", err=True)


@irt.command()
@click.argument("responses", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--items", "items_path", type=click.Path(exists=True, dir_okay=False, path_type=Path), required=True,
              help="ITEMS.csv")
@click.option("--method", type=click.Choice(["eap", "map", "wle", "pv"]), default="eap", show_default=True)
@click.option("--n-pv", default=5, show_default=True, help="似真值个数 / number of plausible values")
@click.option("--conditioning", multiple=True, help="似真值条件变量列（可重复）/ background column for PVs (repeatable)")
@click.option("--school", default=None, help="学校列：以同校其他学生的 EAP 均值为条件 / school column: condition on the "
                                             "mean EAP of the school's other pupils")
@click.option("--questionnaire", multiple=True, help="问卷列（可重复）：以其解释 90%% 方差的主成分为条件 / questionnaire "
                                                    "column (repeatable): condition on its principal components")
@click.option("--seed", default=None, type=int, help="似真值随机种子 / seed for plausible values")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True, help="SCORES.csv")
def score(responses: Path, items_path: Path, method: str, n_pv: int, conditioning: tuple[str, ...], school: str | None,
          questionnaire: tuple[str, ...], seed: int | None, output: Path) -> None:
    """给每个人计分 / person scores for fixed item parameters (EAP, MAP, WLE or plausible values)."""
    from junheng import irt as core
    from junheng.exceptions import ParameterError

    frame = _read(responses)
    items = _numeric_items(_read(items_path))
    if method == "pv":
        if seed is None:
            raise ParameterError("似真值需要 --seed / plausible values need --seed (reproducible)")
        out = core.plausible_values(items, frame, n=n_pv, conditioning=list(conditioning), school=school,
                                    questionnaire=list(questionnaire), random_state=seed)
    elif method == "eap":
        out = core.eap(items, frame)
    elif method == "map":
        out = core.map_(items, frame)
    else:
        out = core.wle(items, frame)
    write_table(out, output, encoding="utf-8")
    click.echo(f"{out.height} 人 / persons ({method}) → {output}")


@irt.command()
@click.argument("scores", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--year", type=int, required=True, help="监测周期的年度 / the cycle's year (the cycle must exist)")
@click.option("--grade", type=int, default=6, show_default=True, help="监测周期的年级 / the cycle's grade")
@click.option("--sheet", default=None, help="Excel 工作表（默认第一个）/ the worksheet of an Excel file (default: the first)")
def store(scores: Path, year: int, grade: int, sheet: str | None) -> None:
    """把学生成绩存入平台 / store pupil scores (EAP, plausible values, levels) of a cycle in the platform.

    SCORES (.parquet, .csv or .xlsx) has the columns of ``junheng irt`` pupil scores: student_id,
    subject, theta_eap, theta_se, pv1 … pv5, level_pv1 … level_pv5, scale_score, level.  Every bad
    row is reported and nothing is written; storing the same file again changes nothing."""
    from junheng_cli.platform import platform_cycle
    from junheng_cli.progress import fraction_bar

    cycle = platform_cycle(year, grade)
    from junheng_web.assessment.scores import store_scores

    sheet_name = None
    if scores.suffix.lower() in (".parquet", ".pq"):
        frame = _read(scores)
    else:
        from junheng.io import read_table

        table = read_table(scores, sheet=sheet, expected_headers=["student_id", "subject", "pv1", "level"])
        frame, sheet_name = table.frame, table.sheet
    with fraction_bar("入库 / storing") as progress:
        r = store_scores(cycle, frame, file=scores.name, sheet=sheet_name, progress=progress)
    click.echo(f"{r.rows} 名学生 / pupils: 新增 / created {r.created}, 更新 / updated {r.updated}, "
               f"未变 / unchanged {r.unchanged} → {cycle}")
