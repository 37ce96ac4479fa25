"""Provinces shared by the synth tests (drawn once per session: they are deterministic)."""

from __future__ import annotations

import pytest

from junheng.synth import province


@pytest.fixture(scope="session")
def small():
    return province(scale=0.02, random_state=2022)


@pytest.fixture(scope="session")
def tenth():
    return province(scale=0.1, random_state=11)


@pytest.fixture(scope="session")
def full():
    return province(scale=1.0, random_state=2022)
