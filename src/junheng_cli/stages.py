"""The demo's stages, in the order of a monitoring cycle: (label, "module:function").

Each function takes the :class:`junheng_cli.demo.DemoContext`; modules are imported only when
the demo runs, so ``junheng --help`` stays fast.
"""

from __future__ import annotations

STAGES: list[tuple[str, str]] = [
    ("合成省份 synthetic province", "junheng_cli.synth:demo_stage"),
    ("名册导入 registry import", "junheng_cli.imports:demo_stage"),
    ("抽样 sample", "junheng_cli.survey:sample_stage"),
    ("体质健康 fitness", "junheng_cli.fitness:demo_stage"),
    ("学业质量 academic", "junheng_cli.assessment:demo_stage"),
    ("权重 weights", "junheng_cli.survey:weights_stage"),
    ("问卷 questionnaire", "junheng_cli.questionnaire:demo_stage"),
    ("平台账号 web accounts", "junheng_cli.serve:demo_stage"),
    ("监测报告 reports", "junheng_cli.report:demo_stage"),
]
