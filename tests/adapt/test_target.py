"""Targets as users write them, and NetAdapt's decaying schedule."""

from __future__ import annotations

import pytest

from genesynth.adapt import AdaptError, Schedule, Target


@pytest.mark.parametrize(("text", "want"), [
    ("macs=553440", Target("macs", 553_440)),
    ("macs=553K", Target("macs", 553_000)),
    ("params=0.25M", Target("params", 250_000)),
    ("latency_ms=2.5", Target("latency_ms", 2.5)),
])
def test_targets_parse(text: str, want: Target) -> None:
    assert Target.parse(text) == want


@pytest.mark.parametrize(("text", "message"), [
    ("flops=5M", "--target must be RESOURCE=VALUE with RESOURCE one of macs, params, "
                 "latency_ms, but got 'flops=5M'"),
    ("macs", "--target must be RESOURCE=VALUE with RESOURCE one of macs, params, latency_ms, "
             "but got 'macs'"),
    ("macs=lots", '--target macs: expected a count such as 5000000 or "5M", got "lots"'),
    ("latency_ms=fast", "--target latency_ms: expected milliseconds such as 2.5, but got 'fast'"),
    ("latency_ms=-1", "`value` must be positive, but got value=-1.0"),
])
def test_a_bad_target_is_one_clear_line(text: str, message: str) -> None:
    with pytest.raises(AdaptError) as error:
        Target.parse(text)
    assert str(error.value) == message


def test_the_schedule_decays_and_stops_at_the_target() -> None:
    schedule = Schedule(first=0.1, decay=0.5)
    assert [schedule.step(k, 1000.0) for k in range(3)] == [100.0, 50.0, 25.0]
    assert schedule.goal(0, 1000.0, 1000.0, 950.0) == 950.0  # never past the target
    assert schedule.goal(1, 1000.0, 900.0, 500.0) == 850.0
    assert schedule.remaining(0, 1000.0, 1000.0, 850.0) == 2  # 900, then 850
    # 100 + 50 + 25 + 12.5 + then 10 (a tenth of the first step) each time
    assert schedule.remaining(0, 1000.0, 1000.0, 800.0) == 6
    with pytest.raises(AdaptError, match="`decay` must be in"):
        Schedule(decay=1.5)


def test_the_cli_states_and_uses_the_schedule_s_defaults(
        capsys: pytest.CaptureFixture[str]) -> None:
    from genesynth.cli import parser

    default = Schedule()
    with pytest.raises(SystemExit):
        parser().parse_args(["adapt", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"starting resource (default {default.first:g})" in help_text
    assert f"the one before (default {default.decay:g})" in help_text
    args = parser().parse_args(["adapt", "run", "--target", "macs=1K"])
    assert (args.first, args.decay) == (None, None)  # so the command takes Schedule()'s
