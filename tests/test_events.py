"""The emitter: every listener hears every event; a failing one is logged once."""

from __future__ import annotations

import logging

import pytest

from genesynth.events import Emitter, RunFinished


def test_a_failing_listener_is_logged_once_and_others_still_hear(
    caplog: pytest.LogCaptureFixture,
) -> None:
    heard: list[object] = []

    def broken(event: object) -> None:
        raise RuntimeError("panel bug")

    emit = Emitter([broken, heard.append])
    with caplog.at_level(logging.WARNING, logger="genesynth"):
        for _ in range(3):
            emit(RunFinished("out", 0))
    assert len(heard) == 3
    message = ("an event listener failed (the run goes on): test_a_failing_listener_is_logged"
               "_once_and_others_still_hear.<locals>.broken: RuntimeError: panel bug")
    assert [r.getMessage() for r in caplog.records] == [message]
    assert len(emit.errors) == 1
