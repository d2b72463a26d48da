"""Constraint files with absurd values end in one clear ConstraintError (issue 14)."""

from __future__ import annotations

from pathlib import Path

import pytest

from genesynth.errors import ConstraintError
from genesynth.goal.constraint import Constraint, load_constraint
from genesynth.goal.utility import MnasReward
from genesynth.net.measurement import Measurement


@pytest.mark.parametrize(("text", "message"), [
    ("[bounds]\nmax_latency_ms = inf",
     "bounds.max_latency_ms: expected a finite number, got inf"),
    ("[bounds]\nmax_latency_ms = 1e400",
     "bounds.max_latency_ms: expected a finite number, got inf"),
    ("[bounds]\nmin_accuracy = nan", "bounds.min_accuracy: expected a finite number, got nan"),
    ("[bounds]\nmax_macs = 1" + "0" * 400,
     "bounds.max_macs: must be at most 1e+18, got a 401-digit number"),
    ("[bounds]\nmax_params = \"1" + "0" * 400 + "\"",
     "bounds.max_params: expected a count such as 5000000 or \"5M\", got \"1000000000000"),
    ("[bounds]\nmax_params = \"" + "9" * 30 + "G\"",
     "bounds.max_params: must be at most 1e+18, got \"" + "9" * 30 + "G\""),
    ("[bounds]\nmax_macs = inf",
     "bounds.max_macs: expected a count such as 5000000 or \"5M\", got inf"),
    ("[utility]\nkind = \"mnas\"\ntarget_ms = inf",
     "utility.target_ms: expected a finite number, got inf"),
    ("[utility]\nalpha = inf", "utility.alpha: expected a finite number, got inf"),
    ("[utility]\nbeta = -inf", "utility.beta: expected a finite number, got -inf"),
])
def test_absurd_values(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConstraintError) as info:
        load_constraint(path)
    assert str(info.value).startswith(f"{path}: {message}")


def test_deep_toml_and_long_integers(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("description = " + "[" * 5000 + "]" * 5000)
    with pytest.raises(ConstraintError) as info:
        load_constraint(path)
    assert str(info.value) == f"{path}: invalid TOML: nested too deeply"
    path.write_text("[bounds]\nmax_macs = " + "1" * 5000)
    with pytest.raises(ConstraintError) as info:
        load_constraint(path)
    assert str(info.value).startswith(f"{path}: invalid TOML: Exceeds the limit (4300 digits)")


def test_a_constraint_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_bytes(b"[bounds]\nmax_macs = \"5M\" # \xff\n")
    with pytest.raises(ConstraintError) as info:
        load_constraint(path)
    assert str(info.value) == f"{path}:2:19: the constraint file is not UTF-8 text (byte 0xff)"


def test_the_api_refuses_an_infinite_latency_bound_and_utility_parameters() -> None:
    with pytest.raises(ConstraintError, match=r"`max_latency_ms` must be positive and finite, "
                       r"but got max_latency_ms=inf"):
        Constraint(max_latency_ms=float("inf"))
    with pytest.raises(ConstraintError, match=r"`target_ms` must be a finite number, but got "
                       r"target_ms=inf"):
        MnasReward(target_ms=float("inf"))


def test_a_steep_mnas_exponent_saturates_instead_of_overflowing() -> None:
    reward = MnasReward(target_ms=1e18, w=-1e3)
    m = Measurement(accuracy=50.0, params=1, macs=1, latency_ms=1e-3)
    assert reward(m) == float("inf")  # 50 * the largest float, as far as a float goes
    assert MnasReward(target_ms=1e18, w=-1e3)(
        Measurement(accuracy=0.0, params=1, macs=1, latency_ms=1e-3)) == 0.0


def test_a_network_too_large_to_build_breaks_a_bound_even_without_one() -> None:
    cap = "the most a network may have to be built"
    assert Constraint().static_violations(2 * 10**9, 1) == [f"params 2.00G > 1.00G, {cap}"]
    assert Constraint(max_params=5 * 10**9).static_violations(2 * 10**9, 1) == [
        f"params 2.00G > 1.00G, {cap}"]
    assert Constraint(max_params=10**6).static_violations(2 * 10**9, 1) == ["params 2.00G > 1.00M"]
    assert Constraint().static_violations(10**9, 1) == []


def test_build_refuses_a_network_too_large_for_memory_before_allocating() -> None:
    import time

    from genesynth import build, parse_prototype
    from genesynth.errors import ArchitectureError

    arch = parse_prototype(
        "network big { input 3x8x8 classes 4 stem { conv(out=46000) conv(out=46000) } "
        "head { gap linear(out=classes) } }").sample()
    start = time.perf_counter()
    with pytest.raises(ArchitectureError) as info:
        build(arch)
    assert str(info.value) == "big: 19.0G parameters cannot be built in memory (at most 1.00G)"
    assert time.perf_counter() - start < 5
