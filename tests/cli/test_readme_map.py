"""The README's repository map names every package and module that exists (src/, benchmarks/,
scripts/, docs/) and nothing that is gone."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAP = re.search(r"## Repository map.*?```\n(.*?)```", README, re.S).group(1)


def _named(name: str) -> bool:
    return re.search(r"(?<![\w.-])" + re.escape(name) + r"(?![\w-])", MAP) is not None


def existing() -> list[str]:
    """What the map must name: each src package's modules and sub-packages, every benchmark (the
    `_` helpers as `_*.py`), every script, every docs/ entry."""
    names = []
    for package in ("junheng", "junheng_web", "junheng_cli"):
        for p in sorted((ROOT / "src" / package).iterdir()):
            if p.name.startswith(("__", ".")):
                continue
            if p.is_dir() and any(p.glob("*.py")) or p.suffix == ".py":  # (static/, templates/: no Python)
                names.append(p.name + "/" if p.is_dir() else p.name)
    names += [p.stem for p in sorted((ROOT / "benchmarks").glob("*.py")) if not p.name.startswith("_")]
    names += [p.name for p in sorted((ROOT / "scripts").iterdir())]
    names += [p.name + ("/" if p.is_dir() else "") for p in sorted((ROOT / "docs").iterdir())]
    return names


def test_the_map_names_everything_that_exists():
    missing = [n for n in existing() if not _named(n)]
    assert not missing, f"README.md's repository map does not name: {missing}"


def test_the_map_names_nothing_that_is_gone():
    files = {p.name for d in ("src", "benchmarks", "scripts", "docs", "tests") for p in (ROOT / d).rglob("*")}
    files |= {p.name for p in ROOT.iterdir()} | {p.name for p in (ROOT / ".ci").glob("*")}
    listed = set(re.findall(r"(?<![\w/.*-])([\w-]+\.(?:py|md|toml|js))\b", MAP))
    listed |= {m for m in re.findall(r"^\s*([a-z_][a-z0-9_.]*)/", MAP, re.M)}
    gone = sorted(n for n in listed if n not in files)
    assert not gone, f"README.md's repository map names what does not exist: {gone}"


def test_the_check_can_fail():
    assert _named("exceptions.py") and _named("engine/") and not _named("nowhere.py") and not _named("gine/")
