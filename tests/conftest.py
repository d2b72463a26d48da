"""Fixtures: the recorded run of :mod:`tests.dashboard.recorded`, whole and cut mid-run; a
private evaluation cache for every test."""

from __future__ import annotations

from pathlib import Path

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


@pytest.fixture(autouse=True)
def _private_evaluation_cache(tmp_path_factory: pytest.TempPathFactory,
                              monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI caches measurements in the user's cache folder by default: never in tests."""
    folder: Path = tmp_path_factory.mktemp("evaluation-cache")
    monkeypatch.setenv("GENESYNTH_CACHE", str(folder))


@pytest.fixture(autouse=True)
def _decoded_data_cache(tmp_path_factory: pytest.TempPathFactory,
                        monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests keep the decoded-data cache in a temporary folder, never in the user's home."""
    monkeypatch.setenv("GENESYNTH_DATA_CACHE", str(tmp_path_factory.getbasetemp() / "data-cache"))
