"""Fixtures: the recorded run of :mod:`tests.dashboard.recorded`, whole and cut mid-run."""

from __future__ import annotations

import pytest

from genesynth.events import Event
from tests.dashboard.recorded import recorded_events


@pytest.fixture
def events() -> list[Event]:
    return recorded_events()[0]


@pytest.fixture
def midrun() -> list[Event]:
    events, mid = recorded_events()
    return events[:mid]
