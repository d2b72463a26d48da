"""Limits that keep every input's work bounded, and reading files with clear errors.

Absurd but valid input (a slot repeated 10**30 times, a stride of 2**64, a network of 38 G
parameters) must end in one clear error or warning, not in a hang, a memory blow-up or a
traceback from torch. The numbers here are the project's one place for those limits.
"""

from __future__ import annotations

import json
import math
import tomllib
from pathlib import Path
from typing import Any

from genesynth.errors import GenesynthError

MAX_NUMBER = 2**31 - 1
"""The largest number a setting (channels, kernel, stride, input size, ...) may take: torch
keeps sizes in 32-bit integers in places (a kernel of 2**31 fails inside ``conv2d``)."""

MAX_VALUE = 10**18
"""The largest magnitude an intermediate result of prototype arithmetic may reach."""

MAX_DEPTH = 50
"""The deepest nesting of groups, brackets and arithmetic in a prototype (the shipped ones
nest 8 deep); JSON and TOML nested deeper than Python's recursion limit are refused too."""

MAX_MODULES = 1000
"""The most module slots a network may have after repeats (AttoNets have 16)."""

MAX_SEED = 2**32 - 1
"""Seeds are 0 .. 2**32 - 1, the range numpy's and Optuna's generators take."""

MAX_TRIALS = 10**6
"""The most search trials one run may ask for (a study of 10**30 trials never ends)."""

MAX_DATA_BYTES = 2**34
"""The most bytes one data file may announce or decompress to (16 GiB): a header or a gzip
stream claiming more is refused before anything is allocated."""

MAX_CLASSES = 100_000
"""The most classes a dataset's labels may imply (ImageNet-21K has 21,841)."""

MAX_BUILD_PARAMS = 10**9
"""The most parameters a network may have to be built (4 GB of float32 weights): synthesis
rejects larger candidates analytically, ``check`` warns when a space reaches them."""


def read_text(path: str | Path, what: str, error: type[GenesynthError] = GenesynthError) -> str:
    """The UTF-8 text of ``path``; ``error`` naming the file when it cannot be read or decoded."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(
            f"{path}:{line}:{column}: the {what} is not UTF-8 text (byte 0x{raw[exc.start]:02x})"
        ) from None


def load_json(text: str, where: str, error: type[GenesynthError] = GenesynthError) -> Any:
    """Parse JSON text; ``error`` naming ``where`` for invalid, too deep or too long input.

    ``NaN`` and ``Infinity`` are refused: no setting or figure genesynth reads may be one.
    """

    def constant(name: str) -> Any:
        raise ValueError(f"{name} is not a number genesynth accepts")

    try:
        return json.loads(text, parse_constant=constant)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON: {exc}") from None
    except RecursionError:
        raise error(f"{where}: not valid JSON: nested too deeply") from None
    except ValueError as exc:  # a number of more than 4300 digits, NaN or Infinity
        raise error(f"{where}: not valid JSON: {_first_line(exc)}") from None


def load_toml(text: str) -> dict[str, Any]:
    """Parse TOML text; raises tomllib.TOMLDecodeError, or ValueError for too deep/long input."""
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def show_number(value: int | float) -> str:
    """A number for a message; an integer too long to print is shown by its size."""
    if isinstance(value, float):
        return f"{value:g}"
    if abs(value) < 10**20:
        return str(value)
    size = abs(value)
    exponent = int(size.bit_length() * math.log10(2))  # close; settled exactly below
    while 10**exponent > size:
        exponent -= 1
    while 10 ** (exponent + 1) <= size:
        exponent += 1
    digits = exponent + 1
    return f"{'-' if value < 0 else ''}a {digits}-digit number"


def _first_line(exc: BaseException) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
