"""The demo's stages, in the order of a monitoring cycle. Add yours as one line here."""

from __future__ import annotations

STAGES: list = [
    ("synthetic province", lambda ctx: __import__("junheng_cli.synth", fromlist=["demo_stage"]).demo_stage(ctx)),
    ("registry import", lambda ctx: __import__("junheng_cli.imports", fromlist=["demo_stage"]).demo_stage(ctx)),
    ("抽样 sample", lambda ctx: __import__("junheng_cli.survey", fromlist=["sample_stage"]).sample_stage(ctx)),
    ("体质健康 fitness", lambda ctx: __import__("junheng_cli.fitness", fromlist=["demo_stage"]).demo_stage(ctx)),
    ("学业质量 academic", lambda ctx: __import__("junheng_cli.assessment", fromlist=["demo_stage"]).demo_stage(ctx)),
    ("权重 weights", lambda ctx: __import__("junheng_cli.survey", fromlist=["weights_stage"]).weights_stage(ctx)),
    ("平台账号 web accounts", lambda ctx: __import__("junheng_cli.serve", fromlist=["demo_stage"]).demo_stage(ctx)),
    ("监测报告 reports", lambda ctx: __import__("junheng_cli.report", fromlist=["demo_stage"]).demo_stage(ctx)),
]
