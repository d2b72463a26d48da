"""``genesynth.synthesize`` adapts the prototype to the data it is given."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import genesynth
from genesynth.evaluate.base import Measurement, Report
from genesynth.utility import Constraint
from tests.data.helpers import write_cifar, write_folder
from tests.synth.test_engine import TINY


class _Fixed:
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
