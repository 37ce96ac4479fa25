"""The OMR tests' shared set-up: booklet B1 (``tests/fixtures/delivery.py``) built for session A and
assigned to county A's pupil 0, with uploads kept under the test's own media folder."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from unittest import mock

import pytest

_spec = importlib.util.spec_from_file_location("delivery_fixture", Path(__file__).parents[2] / "fixtures" / "delivery.py")
fixture = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixture)


@pytest.fixture
def b1(world, tmp_path, settings, eager_jobs):
    """Booklet B1 for session A, assigned to county A's pupil 0 (login code ACDEFGHJ); returns ``fixture.build``'s dict."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    return fixture.build(world.cycle, world.sessions["A"], [world.pupils["A"][0].student_id], ["ACDEFGHJ"])


def filled(oc, lay, rng, pid: str, **shares):
    """``omr_corpus.fill`` of a blank of ``lay`` at 150 dpi with the 学籍号 ``pid`` bubbled (its random
    answers drawn from ``rng``): the pupil a test names, not a random one."""
    with mock.patch.object(oc, "_student_id", lambda _rng: pid):
        return oc.fill(oc.render_blank(lay, 150), lay, 150, rng, **shares)
