"""Fuzz: mutated prototypes, constraint files, architecture JSON, data files and command lines
end in a GenesynthError (or are accepted), never in another exception or a hang (issue 14).

The mutator and the probe are bench/fuzz_inputs.py's (which measures the same at volume); a
fixed seed keeps this run the same in CI, within about 30 seconds.
"""

from __future__ import annotations

import pytest

from bench.fuzz_inputs import BASIC, HOSTILE, Case, all_cases, classify, probe

CASES_PER_KIND = 8
HOSTILE_PER_KIND = 4  # issue 25's kinds (bench/fuzz_hostile.py): special files, bombs, ...
SECONDS_PER_CASE = 15.0


def test_mutated_inputs_end_in_a_clean_error_or_are_accepted() -> None:
    cases = all_cases(CASES_PER_KIND, seed=14, hostile=HOSTILE_PER_KIND)
    outcome = probe(cases, SECONDS_PER_CASE)
    assert len(outcome) == len(cases) == (CASES_PER_KIND * len(BASIC)
                                          + HOSTILE_PER_KIND * len(HOSTILE))
    bad = [f"{c.name}: {outcome[c.name][0]}: {c.argv} {c.data[:200]!r}\n{outcome[c.name][1]}"
           for c in cases if outcome[c.name][0] in ("traceback", "hang")]
    assert not bad, "\n".join(bad)
    assert {outcome[c.name][0] for c in cases} >= {"clean"}


@pytest.mark.parametrize(("data", "expected"), [
    (b"network n { input 3x8x8 classes 2 stem { conv(out=8) } head { gap linear(out=classes) } }",
     "accepted"),
    (b"network n {", "clean"),
])
def test_the_probe_tells_accepted_from_clean(data: bytes, expected: str) -> None:
    assert classify(Case("prototype (API)", "p", data), 30.0)[0] == expected


def test_the_probe_sees_a_traceback_and_a_hang(monkeypatch: pytest.MonkeyPatch) -> None:
    import bench.fuzz_inputs as fuzz

    def boom(case: Case, folder: object) -> None:
        if case.data == b"hang":
            while True:
                pass
        raise KeyError("x")

    monkeypatch.setattr(fuzz, "run_case", boom)
    assert classify(Case("prototype (API)", "p", b"boom"), 5.0)[0] == "traceback"
    assert classify(Case("prototype (API)", "p", b"hang"), 0.5) == ("hang", "Timeout")
