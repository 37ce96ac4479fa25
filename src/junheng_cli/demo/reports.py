"""The demo's last stage: the annual report and every county report of the synthetic province
(``junheng.reports``: tables once, HTML + PDF)."""

from __future__ import annotations

import click

from junheng.io import read_frame, write_table
from junheng_cli.progress import bar


def demo_stage(ctx) -> None:
    """Demo: the annual report and every county report of the synthetic province (HTML + PDF)."""
    import time

    from junheng.reports import build, inputs_from_paths, write_reports
    from junheng.synth import checklist as synth_checklist

    out = ctx.out / "reports"
    out.mkdir(parents=True, exist_ok=True)
    st = ctx.state
    if "schools" not in st:
        click.echo("   (no registry schools frame: the import stage must run first; skipped)")
        return
    codes = read_frame(st["schools"], ["county_code"])["county_code"].unique().sort()
    write_table(synth_checklist(codes, year=2022, random_state=ctx.seed), out / "checklist.csv", encoding="utf-8")
    for key in ("fitness_scored", "academic_scores", "replicates"):
        if key not in st:
            click.echo(f"   ({key} not available: the report says so and leaves that part out)")
    from junheng_cli.demo.questionnaire import DEMO_CUTS  # the questionnaire stage's 低/中/高 cut points

    cuts = DEMO_CUTS if "questionnaire_scales" in st else None
    if cuts is None:
        click.echo("   (questionnaire_scales not available: the 相关因素 chapter says so)")
    inp = inputs_from_paths(schools=st["schools"], weights=st.get("replicates"), sample=st.get("sample"),
                            fitness=st.get("fitness_scored"), scores=st.get("academic_scores"),
                            checklist=out / "checklist.csv", questionnaire=st.get("questionnaire_scales"),
                            questionnaire_definition=st.get("questionnaire"), questionnaire_cuts=cuts,
                            previous=st.get("academic_base_estimates"), linking=st.get("academic_linking"),
                            cut_scores=st.get("academic_cut_scores"), year=2022, seed=ctx.seed)
    t = time.perf_counter()
    tb = build(inp)
    click.echo(f"   tables for {tb['resource'].height} counties ({time.perf_counter() - t:.1f} s)")
    n = tb["resource"].height + 1
    with bar(n, "报告 PDF") as b:
        written = write_reports(tb, out, pdf=True, processes=2, reuse=True, progress=b.update)
    click.echo(f"   {len(written['pdf'])} PDF + {len(written['html'])} HTML ({time.perf_counter() - t:.0f} s)")
    ctx.output("annual report (PDF)", out / "annual.pdf")
    ctx.output("annual report (HTML)", out / "annual.html")
    if (out / "verdicts.csv").exists():
        v = read_frame(out / "verdicts.csv")
        counts = "，".join(f"{k} {n}" for k, n in v["overall"].value_counts().sort("overall").iter_rows())
        ctx.output(f"county verdicts (优质均衡: {counts})", out / "verdicts.csv")
    ctx.output(f"county reports ({n - 1} × HTML + PDF)", out / "county")
