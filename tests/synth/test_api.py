"""``genesynth.synthesize`` adapts the prototype to the data it is given."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import genesynth
import genesynth.space.prototype as space_prototype
from genesynth.evaluate.base import Evaluator, Report
from genesynth.goal.constraint import Constraint
from genesynth.net.measurement import Measurement
from tests.data.helpers import write_cifar, write_folder
from tests.synth.test_engine import TINY


class _Fixed(Evaluator):
    def evaluate(self, arch: Any, report: Report) -> Measurement:
        c = genesynth.cost(arch)
        return Measurement(80.0, c.params, c.macs)


RULE = Constraint(min_accuracy=None, max_macs=None, max_params=None, max_latency_ms=None)


def _first_arch(data: str, out: Path) -> genesynth.Architecture:
    result = genesynth.synthesize(genesynth.parse_prototype(TINY), RULE, data=data, trials=1,
                                  out=out, evaluator=_Fixed(), family_size=1)
    return genesynth.Architecture.from_json(result.trials[0].user_attrs["arch"])


def test_an_image_folder_is_decoded_at_the_prototypes_input(tmp_path: Path) -> None:
    folder = write_folder(tmp_path / "pets")  # 3 classes of 10x12 RGB images
    arch = _first_arch(str(folder), tmp_path / "run")
    # The prototype declares 1x8x8: the images are decoded to one channel at 8x8.
    assert (arch.input_shape, arch.classes) == ((1, 8, 8), 3)


def test_array_formats_keep_their_native_shape(tmp_path: Path) -> None:
    write_cifar(tmp_path / "cifar")
    arch = _first_arch(str(tmp_path / "cifar"), tmp_path / "run")
    assert (arch.input_shape, arch.classes) == ((3, 32, 32), 10)


CIFAR_TINY = TINY.replace("input 1x8x8", "input 3x32x32")


def _keys(proto: genesynth.Prototype, seeds: range) -> dict[str, float]:
    return {proto.sample(seed=seed).key: 90.0 + seed % 5 for seed in seeds}


def test_a_table_evaluator_keeps_the_prototypes_own_input(tmp_path: Path) -> None:
    proto = genesynth.parse_prototype(CIFAR_TINY)
    table = tmp_path / "table.json"
    table.write_text(json.dumps(_keys(proto, range(200))))
    result = genesynth.synthesize(proto, RULE, trials=4, out=tmp_path / "run", family_size=1,
                                  evaluator=genesynth.TableEvaluator(table), sampler="random")
    states = {t.user_attrs["state"] for t in result.trials}
    assert states <= {"complete", "duplicate"}
    arch = genesynth.Architecture.from_json(result.trials[0].user_attrs["arch"])
    assert (arch.input_shape, arch.classes) == ((3, 32, 32), 10)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert run["input_shape"] == [3, 32, 32] and run["data"] == {}


def test_a_table_made_for_another_input_is_a_clear_error(tmp_path: Path) -> None:
    other = genesynth.parse_prototype(TINY)  # the same space at 1x8x8: other keys
    table = tmp_path / "table.json"
    table.write_text(json.dumps(_keys(other, range(200))))
    with pytest.raises(genesynth.DataError) as caught:
        genesynth.synthesize(genesynth.parse_prototype(CIFAR_TINY), RULE, trials=4,
                             out=tmp_path / "run", evaluator=genesynth.TableEvaluator(table))
    assert str(caught.value) == (
        f"{table}: none of 256 networks sampled from the prototype 'tiny' at input 3x32x32 is "
        "in the table (32 keys); was it made for this prototype and input? (a table maps "
        "Architecture.key of each network, at the input it was made for, to its accuracy)"
    )
    assert not (tmp_path / "run").exists()


def test_optunas_log_is_quiet_unless_verbose(tmp_path: Path) -> None:
    import optuna

    before = optuna.logging.get_verbosity()
    seen: list[int] = []
    for verbose in (False, True):
        genesynth.synthesize(genesynth.parse_prototype(TINY), RULE, trials=1,
                             out=tmp_path / str(verbose), evaluator=_Fixed(), family_size=1,
                             listeners=[lambda _: seen.append(optuna.logging.get_verbosity())],
                             verbose=verbose)
    quiet, loud = seen[0], seen[-1]
    assert quiet == max(before, optuna.logging.WARNING)
    assert loud == min(before, optuna.logging.INFO)
    assert optuna.logging.get_verbosity() == before  # restored after the run


def test_the_prototype_is_parsed_and_resolved_once_per_synthesis(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The data's shape replaces the declared one without reading the text again."""
    calls: Counter[str] = Counter()

    def counted(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[name] += 1
            return function(*args, **kwargs)
        return call

    for name in ("parse", "resolve"):
        monkeypatch.setattr(space_prototype, name, counted(name, getattr(space_prototype, name)))
    path = tmp_path / "tiny.gs"
    path.write_text(CIFAR_TINY)  # declares 3x32x32; the digits are 1x8x8
    result = genesynth.synthesize(str(path), RULE, data="digits", trials=1, out=tmp_path / "run",
                                  evaluator=_Fixed(), family_size=1)
    arch = genesynth.Architecture.from_json(result.trials[0].user_attrs["arch"])
    assert (arch.input_shape, arch.classes) == ((1, 8, 8), 10)
    assert calls == {"parse": 1, "resolve": 1}


def test_an_empty_family_is_a_warning_not_silence(tmp_path: Path) -> None:
    rule = Constraint(min_accuracy=99.0)  # _Fixed measures 80 %: nothing is feasible
    with pytest.warns(genesynth.EmptyFamilyWarning) as caught:
        result = genesynth.synthesize(genesynth.parse_prototype(TINY), rule, trials=2,
                                      out=tmp_path / "run", evaluator=_Fixed(), family_size=1,
                                      sampler="random")
    assert result.family == []
    assert str(caught[0].message) == (
        f"the family of {tmp_path / 'run'} is empty: none of its 2 trials was feasible under "
        "the constraint; relax the constraint or run more trials")
