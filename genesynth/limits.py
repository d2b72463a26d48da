"""Limits that keep every input's work bounded, and reading files with clear errors.

Absurd but valid input (a slot repeated 10**30 times, a stride of 2**64, a network of 38 G
parameters) must end in one clear error or warning, not in a hang, a memory blow-up or a
traceback from torch. The numbers here are the project's one place for those limits.
"""

from __future__ import annotations

import json
import math
import os
import resource
import stat
import tomllib
from pathlib import Path
from typing import Any, BinaryIO

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

MAX_FAMILY = 26
"""The most family members a run may ask for: they are labelled A .. Z."""

MAX_EPOCHS = 100_000
"""The most training epochs a setting may ask for (ImageNet schedules are a few hundred)."""

MAX_BATCH = 2**20
"""The largest batch a setting may ask for."""

MAX_SECONDS = 86_400
"""The longest interval a setting in seconds may take (a heartbeat, a table's delay, ...)."""

MAX_DATA_BYTES = 2**34
"""The most bytes one data file may announce or decompress to (16 GiB): a header or a gzip
stream claiming more is refused before anything is allocated."""

MAX_CLASSES = 100_000
"""The most classes a dataset's labels may imply (ImageNet-21K has 21,841)."""

MAX_BUILD_PARAMS = 10**9
"""The most parameters a network may have to be built (4 GB of float32 weights): synthesis
rejects larger candidates analytically, ``check`` warns when a space reaches them."""


MAX_TEXT_BYTES = 16 * 2**20
"""The largest text file genesynth reads (prototype, constraint file, architecture or run JSON):
the shipped ones are a few kB; an architecture of MAX_MODULES modules is well below 1 MB."""

MAX_PROTOTYPE_BYTES = 256 * 2**10
"""The largest prototype text (the largest shipped one is 14 kB): a parser's time grows with
the text, and 100,000 nested brackets or a chain of 100,000 sums took seconds to refuse."""

MAX_TEXT_DEPTH = 1000
"""Brackets open at once in a prototype's text, checked before it is parsed (grouped
expressions may nest deeper than MAX_DEPTH: they add no depth to the tree)."""

MAX_THREADS = 256
"""The most threads any setting may ask for (``[latency] threads``, training threads): a
phone's or a server's thread count fits, 100000 (which once took every process slot of the
machine) does not."""


def memory_budget() -> int:
    """Bytes this process may still take: the machine's available memory, less where an
    address-space limit (``ulimit -v``) or a container's memory limit is lower."""
    budget = (_proc("/proc/meminfo", "MemAvailable")
              or os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft != resource.RLIM_INFINITY:
        budget = min(budget, soft - _proc("/proc/self/status", "VmSize"))
    for name in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            limit = Path(name).read_text().strip()
        except OSError:
            continue
        if limit.isdigit() and int(limit) < 2**60:
            budget = min(budget, int(limit) - _proc("/proc/self/status", "VmRSS"))
        break
    return max(0, budget)


def check_decoded(where: str, arrays: list[tuple[int, int]],
                  error: type[GenesynthError] = GenesynthError) -> None:
    """Refuse, before decoding, data that would not fit in memory. ``arrays``: (values,
    bytes per value) of each array. Each value becomes float32 copies (the images and their
    normalised form), so twice the values times the larger of 4 and their size must fit in
    half of :func:`memory_budget` (and the decoded bytes under MAX_DATA_BYTES)."""
    decoded = sum(count * size for count, size in arrays)
    needed = sum(2 * count * max(4, size) for count, size in arrays)
    budget = memory_budget()
    if decoded > MAX_DATA_BYTES or needed > budget // 2:
        raise error(f"{where}: decodes to {decoded:,} bytes and needs about {needed:,} bytes "
                    f"of memory to train on; this machine has {budget:,} bytes available "
                    f"(at most half of it, and {MAX_DATA_BYTES:,} bytes decoded, are used)")


def _proc(file: str, key: str) -> int:
    """A ``key: N kB`` line of a /proc file, in bytes (0 where there is none)."""
    try:
        for line in Path(file).read_text().splitlines():
            name, _, value = line.partition(":")
            if name == key:
                return int(value.split()[0]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def open_regular(path: str | Path, what: str, error: type[GenesynthError] = GenesynthError,
                 max_bytes: int | None = None) -> BinaryIO:
    """``path`` opened for reading in binary, refused unless it is a regular file (a FIFO
    would block forever, ``/dev/zero`` never ends) of at most ``max_bytes``."""
    try:  # O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise error(f"{path}: the {what} must be a regular file, but it is "
                        f"{_file_kind(info.st_mode)}")
        if max_bytes is not None and info.st_size > max_bytes:
            raise error(f"{path}: the {what} holds {info.st_size:,} bytes; at most "
                        f"{max_bytes:,} are read")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_bytes(path: str | Path, what: str, error: type[GenesynthError] = GenesynthError,
               max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``max_bytes`` (``error`` otherwise)."""
    with open_regular(path, what, error, max_bytes) as stream:
        try:
            raw = stream.read(max_bytes + 1)
        except OSError as exc:
            raise error(f"{path}: cannot read the {what}: {exc.strerror or exc}") from None
    if len(raw) > max_bytes:  # it grew while we read it
        raise error(f"{path}: the {what} holds more than {max_bytes:,} bytes; at most "
                    f"{max_bytes:,} are read")
    return raw


def _file_kind(mode: int) -> str:
    kinds = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
             (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISSOCK, "a socket"))
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_text(path: str | Path, what: str, error: type[GenesynthError] = GenesynthError,
              max_bytes: int = MAX_TEXT_BYTES) -> str:
    """The UTF-8 text of the regular file ``path`` (at most ``max_bytes``); ``error`` naming
    the file when it cannot be read or decoded."""
    raw = read_bytes(path, what, error, max_bytes)
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
