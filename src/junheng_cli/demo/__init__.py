"""``junheng demo``: the main job end to end on the embedded SQLite default.

Each stage is one function ``stage(ctx: DemoContext) -> None`` in a module of this package,
listed in ``STAGES`` in the order of a monitoring cycle; a stage only calls the core's pipelines
(``junheng.*``) and the web services (``junheng_web.*.services``) for the database. A stage
records the paths it wrote with ``ctx.output(label, path)``; the demo prints them all at the end.
Stage modules are imported only when the demo runs, so ``junheng --help`` stays fast.
"""

from __future__ import annotations

import importlib
import os
import resource
import time
from dataclasses import dataclass, field
from pathlib import Path

import click


@dataclass
class DemoContext:
    out: Path
    scale: float
    seed: int
    outputs: list[tuple[str, Path]] = field(default_factory=list)
    state: dict = field(default_factory=dict)  # what one stage hands the next (paths, ids)

    def output(self, label: str, path: Path) -> None:
        self.outputs.append((label, Path(path)))


STAGES: list[tuple[str, str]] = [
    ("合成省份 synthetic province", "junheng_cli.demo.province:demo_stage"),
    ("名册导入 registry import", "junheng_cli.demo.registry:demo_stage"),
    ("抽样 sample", "junheng_cli.demo.sample:sample_stage"),
    ("体质健康 fitness", "junheng_cli.demo.fitness:demo_stage"),
    ("学业质量 academic", "junheng_cli.demo.academic:demo_stage"),
    ("权重 weights", "junheng_cli.demo.sample:weights_stage"),
    ("学业估计与趋势 academic estimates and trend", "junheng_cli.demo.academic:estimates_stage"),
    ("问卷 questionnaire", "junheng_cli.demo.questionnaire:demo_stage"),
    ("平台账号 web accounts", "junheng_cli.demo.accounts:demo_stage"),
    ("监测报告 reports", "junheng_cli.demo.reports:demo_stage"),
]
"""The demo's stages, in the order of a monitoring cycle: (label, "module:function")."""


def _cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process and its finished children (the
    Typst/worker subprocesses): the stage cost that does not depend on how loaded the machine is."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _stages():
    """The stages of one monitoring cycle, in order, resolved from ``STAGES``."""
    for label, target in STAGES:
        module, _, function = target.partition(":")
        yield label, getattr(importlib.import_module(module), function)


@click.command()
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"), show_default=True,
              help="folder for everything the demo writes")
@click.option("--scale", type=float, default=1.0, show_default=True,
              help="size of the synthetic province (1 = a grade-6 cohort of about 1.5 million)")
@click.option("--seed", type=int, default=2022, show_default=True)
def demo(out: Path, scale: float, seed: int) -> None:
    """Run one monitoring cycle of a synthetic province end to end (SQLite, nothing to start)."""
    out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("JUNHENG_HOME", str((out / "var").resolve()))
    ctx = DemoContext(out=out.resolve(), scale=scale, seed=seed)
    t0 = time.perf_counter()
    c0 = _cpu_seconds()
    times: list[tuple[str, float, float]] = []
    for name, stage in _stages():
        click.secho(f"== {name}", bold=True)
        t, c = time.perf_counter(), _cpu_seconds()
        stage(ctx)
        times.append((name, time.perf_counter() - t, _cpu_seconds() - c))
        click.echo(f"   ({times[-1][1]:.1f} s, CPU {times[-1][2]:.1f} s)")
    total, cpu = time.perf_counter() - t0, _cpu_seconds() - c0
    click.secho(f"\ndemo finished in {total:.0f} s (CPU {cpu:.0f} s); time by stage, longest first "
                f"(wall, share, CPU):", bold=True)
    for name, s, c in sorted(times, key=lambda x: -x[1]):
        click.echo(f"  {s:7.1f} s  {s / total:4.0%}  {c:7.1f} s  {name}")
    click.secho("outputs:", bold=True)
    for label, path in ctx.outputs:
        click.echo(f"  {label}: {path}")
