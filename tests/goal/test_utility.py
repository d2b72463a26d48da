"""NetScore and the MnasNet reward by hand, constraint files, and their golden errors."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from genesynth.errors import ConstraintError
from genesynth.goal.constraint import (
    Constraint,
    ConstraintSyntaxError,
    load_constraint,
    parse_count,
)
from genesynth.goal.utility import UTILITIES, MnasReward, NetScore, make_utility
from genesynth.net.measurement import Measurement

ROOT = Path(__file__).resolve().parents[2]


def _m(accuracy: float = 96.0, params: int = 50_000, macs: int = 1_000_000,
       latency: float | None = None) -> Measurement:
    return Measurement(accuracy, params, macs, latency)


@pytest.mark.parametrize(
    ("utility", "measurement", "expected"),
    [
        (NetScore(), _m(100.0, 1_000_000, 1_000_000), 80.0),  # 20·log10(100² / (1·1))
        (NetScore(), _m(10.0, 100, 10_000), 100.0),  # 20·(2·1 + 0.5·4 + 0.5·2)
        (NetScore(1, 1, 0), _m(100.0, 10_000_000, 5), 20.0),  # 20·(2 - 1)
        (NetScore(), _m(95.0, 100_000, 2_000_000),
         20 * (2 * math.log10(95) - 0.5 * math.log10(0.1) - 0.5 * math.log10(2))),
    ],
)
def test_netscore_by_hand(utility: NetScore, measurement: Measurement, expected: float) -> None:
    assert utility(measurement) == pytest.approx(expected, abs=1e-9)


def test_netscore_stays_finite() -> None:
    assert math.isfinite(NetScore()(_m(0.0, 0, 0)))


def test_mnas_reward() -> None:
    soft = MnasReward(target_ms=1.0)
    assert soft(_m(80.0, latency=2.0)) == pytest.approx(80.0 * 2.0**-0.07)
    assert soft(_m(80.0, latency=1.0)) == pytest.approx(80.0)
    hard = MnasReward(target_ms=1.0, w=0.0, w_over=-1.0)
    assert hard(_m(80.0, latency=0.5)) == pytest.approx(80.0)
    assert hard(_m(80.0, latency=2.0)) == pytest.approx(40.0)
    assert hard.needs_latency and not NetScore().needs_latency
    with pytest.raises(ValueError, match="needs a measured latency"):
        soft(_m())


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: NetScore(alpha=-1), "`alpha` must be positive, but got alpha=-1"),
        (lambda: NetScore(beta=-0.5), "`beta` must be zero or positive, but got beta=-0.5"),
        (lambda: MnasReward(0), "`target_ms` must be positive, but got target_ms=0"),
        (lambda: MnasReward(1, w=0.1), "`w` must be zero or negative, but got w=0.1"),
        (lambda: make_utility("netscor"), "unknown utility 'netscor'; did you mean 'netscore'?"),
        (lambda: make_utility("mnas", w=-0.1), "the 'mnas' utility needs `target_ms`"),
    ],
)
def test_utility_validation(make: object, message: str) -> None:
    with pytest.raises(ConstraintError) as info:
        make()  # type: ignore[operator]
    assert str(info.value) == message


def test_registry_and_describe() -> None:
    assert set(UTILITIES) >= {"netscore", "mnas"}
    assert make_utility("netscore", alpha=3).describe() == {
        "kind": "netscore", "alpha": 3, "beta": 0.5, "gamma": 0.5}


@pytest.mark.parametrize(
    ("value", "count"),
    [(5000000, 5_000_000), ("5M", 5_000_000), ("300K", 300_000), ("1.5G", 1_500_000_000),
     ("250k", 250_000), (" 42 ", 42), (2e6, 2_000_000)],
)
def test_parse_count(value: object, count: int) -> None:
    assert parse_count(value, "k") == count


@pytest.mark.parametrize("name", ["digits", "imagenet50", "latency", "cifar10"])
def test_shipped_constraints_load_and_round_trip(name: str) -> None:
    rule = load_constraint(ROOT / "constraints" / f"{name}.toml")
    assert Constraint.from_dict(rule.describe()) == rule
    assert rule.needs_latency == (name == "latency")


def test_constraint_checks(tmp_path: Path) -> None:
    path = tmp_path / "rule.toml"
    path.write_text('[bounds]\nmin_accuracy = 95.0\nmax_macs = "5M"\nmax_params = "200K"\n')
    rule = load_constraint(path)
    assert rule.bound_names == ("min_accuracy", "max_macs", "max_params")
    assert rule.static_violations(250_000, 7_200_000) == [
        "MACs 7.20M > 5.00M", "params 250K > 200K"]
    assert rule.static_violations(1000, 1000) == []
    bad = _m(93.1, 50_000, 7_200_000)
    assert rule.violations(bad) == ["accuracy 93.10% < 95%", "MACs 7.20M > 5.00M"]
    assert not rule.feasible(bad) and rule.feasible(_m())
    assert rule.optuna_values(_m(96.0, 100_000, 10_000_000)) == pytest.approx((-1.0, 1.0, -0.5))
    assert isinstance(rule.utility, NetScore)


def test_latency_bound_checks() -> None:
    rule = load_constraint(ROOT / "constraints" / "latency.toml")
    assert rule.utility == MnasReward(target_ms=1.0, w=-0.07)
    assert rule.violations(_m(96.0, latency=1.5)) == ["latency 1.5 ms > 1 ms"]
    assert rule.violations(_m(96.0)) == ["latency not measured"]
    assert rule.optuna_values(_m(96.0, latency=0.5)) == pytest.approx((-6.0, -0.5))
    with pytest.raises(ValueError, match="latency_ms is None"):
        rule.optuna_values(_m())


def test_defaults_and_target_from_bound(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text(
        "[bounds]\nmax_latency_ms = 2\n[latency]\nthreads = 4\n[utility]\nkind = 'mnas'\n"
    )
    rule = load_constraint(path)
    assert rule.utility == MnasReward(target_ms=2.0) and rule.latency_threads == 4
    path.write_text("")
    assert load_constraint(path) == Constraint(path=str(path))


BAD = [
    ("[bounds]\nmax_macs = '5 apples'\n",
     'bounds.max_macs: expected a count such as 5000000 or "5M", got "5 apples"'),
    ("[bounds]\nmax_params = true\n",
     'bounds.max_params: expected a count such as 5000000 or "5M", got True'),
    ("[bounds]\nmax_params = 0\n", "bounds.max_params: must be positive, got 0"),
    ("[bounds]\nmax_mac = 5\n", "bounds.max_mac: unknown key; did you mean 'max_macs'?"),
    ("[bounds]\nmin_accuracy = 120\n",
     "bounds.min_accuracy: expected a top-1 accuracy in % (0..100), got 120"),
    ("[bounds]\nmin_accuracy = 'high'\n", 'bounds.min_accuracy: expected a number, got "high"'),
    ("[bounds]\nmax_latency_ms = -1.0\n", "bounds.max_latency_ms: must be positive, got -1.0"),
    ("[bonds]\n", "bonds: unknown key; did you mean 'bounds'?"),
    ("bounds = 3\n", "bounds: expected a table [bounds]"),
    ("[latency]\nthreads = 0\n",
     "latency.threads: expected a whole number of threads from 1 to 256, got 0"),
    # issue 25: 100000 threads took every process slot of the machine, then segfaulted
    ("[latency]\nthreads = 100000\n",
     "latency.threads: expected a whole number of threads from 1 to 256, got 100000"),
    ("[latency]\nthreads = 99999999999999999999\n",
     "latency.threads: expected a whole number of threads from 1 to 256, got 99999999999999999999"),
    ("[latency]\ntable = 3\n",
     "latency.table: expected the path of a latency table file (.json), got 3"),
    ("[latency]\ntabel = 'phone.json'\n", "latency.tabel: unknown key; did you mean 'table'?"),
    ("[utility]\nkind = 'mnas'\n",
     "utility.target_ms: the mnas utility needs a latency target (utility.target_ms, or "
     "bounds.max_latency_ms)"),
    ("[utility]\nalpha = -1\n", "utility.alpha: `alpha` must be positive, but got alpha=-1"),
    ("[utility]\nalpah = 1\n", "utility.alpah: unknown parameter; did you mean 'alpha'?"),
    ("[utility]\nkind = 'xyz'\n", "utility.kind: unknown utility 'xyz'; known: mnas, netscore"),
    ("[utility]\nbeta = '0.5'\n", 'utility.beta: expected a number, got "0.5"'),
]


@pytest.mark.parametrize(("text", "message"), BAD)
def test_constraint_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "x.toml"
    path.write_text(text)
    with pytest.raises(ConstraintError) as info:
        load_constraint(path)
    assert str(info.value) == f"{path}: {message}"


def test_a_latency_table_is_found_beside_the_constraint_and_makes_latency_static(
        tmp_path: Path) -> None:
    (tmp_path / "rules").mkdir()
    path = tmp_path / "rules" / "c.toml"
    path.write_text('[bounds]\nmax_latency_ms = 0.5\n[latency]\ntable = "../phone.json"\n')
    rule = load_constraint(path)
    assert rule.latency_table == str((tmp_path / "rules" / ".." / "phone.json").absolute())
    assert rule.predicts_latency and rule.needs_latency
    assert Constraint.from_dict(rule.describe(), "run.json") == rule
    assert rule.static_violations(10, 10, latency_ms=0.7) == ["latency 0.7 ms > 0.5 ms"]
    assert rule.static_violations(10, 10, latency_ms=0.4) == []
    assert not load_constraint(_write(tmp_path, "[bounds]\n")).predicts_latency


def _write(folder: Path, text: str) -> Path:
    path = folder / "plain.toml"
    path.write_text(text)
    return path


def test_toml_syntax_error_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "x.toml"
    path.write_text("[bounds]\nmin_accuracy 95\n")
    with pytest.raises(ConstraintSyntaxError) as info:
        load_constraint(path)
    assert info.value.span.line == 2 and info.value.span.column == 14
    assert str(info.value).startswith(f"{path}:2:14: invalid TOML: ")
    assert "min_accuracy 95" in str(info.value)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConstraintError, match="cannot read the constraint file"):
        load_constraint(tmp_path / "none.toml")


def test_programmatic_constraint_validation() -> None:
    with pytest.raises(ConstraintError, match=r"`max_macs` must be positive, but got max_macs=0"):
        Constraint(max_macs=0)


REQUIRED = {"target_ms": 1.0}


@pytest.mark.parametrize("kind", sorted(UTILITIES))
def test_every_utility_conforms(kind: str) -> None:
    """Every registered utility: builds from its required parameters, describes itself so that
    make_utility rebuilds it, and scores a measurement with a finite float."""
    cls = UTILITIES[kind]
    utility = make_utility(kind, **{k: REQUIRED[k] for k in cls.required()})
    assert utility.name == kind and utility.describe()["kind"] == kind
    params = {k: v for k, v in utility.describe().items() if k != "kind"}
    assert make_utility(kind, **params) == utility
    value = utility(_m(latency=0.7))
    assert isinstance(value, float) and math.isfinite(value)
