"""English is complete: every message of the platform has a translation, and the compiled
catalogue is current (``msgfmt`` of the committed .po)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

PO = Path(__file__).resolve().parents[2] / "src/junheng_web/locale/en/LC_MESSAGES/django.po"


def _entries():
    text = PO.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        m = re.search(r'^msgid ((?:".*"\n?)+)msgstr ((?:".*"\n?)+)', block + "\n", re.M)
        if m:
            yield "".join(re.findall(r'"(.*)"', m.group(1))), "".join(re.findall(r'"(.*)"', m.group(2))), block


def test_it_translates_every_message():
    entries = [(mid, mstr, block) for mid, mstr, block in _entries() if mid]  # (the header's msgid is "")
    assert len(entries) > 100
    untranslated = [mid for mid, mstr, block in entries if not mstr or "#, fuzzy" in block]
    assert untranslated == []


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt not installed")
def test_it_ships_the_compiled_catalogue(tmp_path):
    out = tmp_path / "django.mo"
    subprocess.run(["msgfmt", "-o", str(out), str(PO)], check=True)
    assert out.read_bytes() == PO.with_suffix(".mo").read_bytes(), "run msgfmt on django.po"


@pytest.mark.parametrize("text, zh, en", [
    ("读取第 3 页 / reading page 3", "读取第 3 页", "reading page 3"),
    ("文件 a / b.xlsx 第 2 行 / file a / b.xlsx, row 2", "文件 a", "b.xlsx 第 2 行 / file a / b.xlsx, row 2"),
    ("只有中文", "只有中文", "只有中文"),
    (None, "", ""),
])
def test_a_bilingual_text_is_split_in_one_place_for_every_page(text, zh, en):
    """The job page's progress message, the template filter and the pupil's refusals take the same
    half of a "中文 / English" text (the split at the first " / "): one function, not three copies."""
    from django.template import Context, Template
    from django.utils import translation

    from junheng_web.delivery.views import chinese
    from junheng_web.jobs.models import Job
    from junheng_web.locale import in_language

    page = Template("{% load junheng %}{{ text|in_language }}")
    for language, want in (("zh-hans", zh), ("en", en)):
        with translation.override(language):
            assert in_language(text) == want
            assert page.render(Context({"text": text})) == want
            assert Job(message=text or "").localized_message() == want
            assert chinese(text or "") == zh  # the pupil's page is Chinese whatever the language
