"""The demo's stages, in the order of a monitoring cycle. Add yours as one line here."""

from __future__ import annotations

STAGES: list = [
    # ("synthetic province", junheng_cli.synth.demo_stage),
]
