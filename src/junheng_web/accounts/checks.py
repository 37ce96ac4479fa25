"""System checks of the signing key (run by ``manage.py check``, ``--deploy`` and every server start).

``SECRET_KEY`` signs sessions and the pupils' attempt cookies and derives the login codes
(``testsites.services``): anybody who knows it can forge a session or recompute a pupil's code.
A key that has ever been public — one written in this repository, in its documentation or tests
— is therefore as bad as none, and so is a key file other users of the machine can read.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from django.conf import settings
from django.core.checks import Tags, Warning, register

# Keys that were once in the repository (the former development default, the deploy test's).
KNOWN_KEYS = frozenset({
    "junheng-embedded-development-key-not-for-production",
    "k3Q9vX2mR7tW1yB8nF4hL6jP0sD5gA-zC_eU+iO!oK*xM^qN%rT$wV#",
})
_TEXT = {".py", ".md", ".txt", ".toml", ".cfg", ".ini", ".env", ".yml", ".yaml", ".json", ".sh", ".html"}


def _repository_root() -> Path | None:
    """The checkout the code runs from (``src/junheng_web`` → the folder with pyproject.toml), if any."""
    root = Path(settings.BASE_DIR).resolve().parents[1]
    return root if (root / "pyproject.toml").is_file() else None


def committed(key: str, root: Path | None) -> Path | None:
    """The first text file of the checkout that contains ``key``, or ``None``."""
    if root is None or not key:
        return None
    for folder in ("src", "tests", "docs", "scripts", "benchmarks", "."):
        base = root / folder
        if not base.is_dir():
            continue
        paths = base.rglob("*") if folder != "." else base.glob("*")
        for path in paths:
            if path.suffix not in _TEXT or "node_modules" in path.parts or not path.is_file():
                continue
            try:
                if path.stat().st_size < 2_000_000 and key in path.read_text(encoding="utf-8", errors="ignore"):
                    return path
            except OSError:
                continue
    return None


def _w001(where: str) -> Warning:
    return Warning(
        f"SECRET_KEY is {where}: anybody can forge sessions and recompute pupils' login codes. "
        "Unset JUNHENG_SECRET_KEY (the installation then generates its own in JUNHENG_HOME/secret_key) "
        "or set a new random one.", id="junheng.W001")


@register(Tags.security)
def check_secret_key(app_configs=None, **kwargs):
    """On every start: a known public key, a key file readable by others."""
    out = [_w001("a known public key")] if settings.SECRET_KEY in KNOWN_KEYS else []
    path = Path(settings.JUNHENG_HOME) / "secret_key"
    if not os.environ.get("JUNHENG_SECRET_KEY") and path.is_file() and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        out.append(Warning(f"{path} is readable by other users of this machine; chmod 600 it.", id="junheng.W002"))
    return out


@register(Tags.security, deploy=True)
def check_secret_key_committed(app_configs=None, **kwargs):
    """``check --deploy``: the key written anywhere in the checkout the code runs from."""
    if settings.SECRET_KEY in KNOWN_KEYS:
        return []  # already reported
    path = committed(settings.SECRET_KEY, _repository_root())
    return [_w001(f"written in {path}")] if path else []
