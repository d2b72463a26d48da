"""Export formats by name: one :class:`Exporter` row each, torch-free (the CLI reads it).

Adding a format is one row of :data:`EXPORTERS` and its writer, a function
``write(arch, path, state_dict, normalization) -> list[Path]`` named as ``"module:function"``
(imported only when that format is written); ``tests/export/test_formats.py`` runs every row
through the same contract (the files it says, a member's weights where it takes them, a
refused existing file, a network that computes what the member computes where it runs one).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from genesynth.errors import ExportError, did_you_mean


@dataclass(frozen=True)
class Exporter:
    """One export format.

    ``suffix`` is its file's (``model.onnx``); ``needs_weights`` whether it carries a member's
    trained weights (they are loaded and checked against family.json first; an architecture
    alone is exported with fresh ones); ``write`` its writer as ``"module:function"``;
    ``beside`` the suffixes of files written next to the main one (``model.pt``);
    ``quantize`` the post-training quantizations it offers (``--quantize``); ``usage`` what
    to tell the user after writing ``{file}``; ``summary`` one line for the CLI's help.
    """

    suffix: str
    needs_weights: bool
    write: str
    beside: tuple[str, ...] = ()
    quantize: tuple[str, ...] = ()
    usage: str = ""
    summary: str = ""

    def writer(self) -> Callable[..., list[Any]]:
        module, name = self.write.split(":")
        found: Callable[..., list[Any]] = getattr(importlib.import_module(module), name)
        return found


_WRITERS = "genesynth.export.exporters"

#: format name (``genesynth export --format``) -> its exporter.
EXPORTERS: dict[str, Exporter] = {
    "pytorch": Exporter(".py", True, f"{_WRITERS}:write_pytorch", beside=(".pt",),
                        usage="run it with: python {file}",
                        summary="standalone PyTorch source and its weights (needs only torch)"),
    "onnx": Exporter(".onnx", True, f"{_WRITERS}:write_onnx", quantize=("int8",),
                     summary="ONNX with its weights (needs genesynth[onnx])"),
    "json": Exporter(".json", False, f"{_WRITERS}:write_json",
                     summary="the architecture as JSON"),
    "text": Exporter(".gs", False, f"{_WRITERS}:write_text",
                     summary="the architecture as prototype text"),
}


def exporter(fmt: str) -> Exporter:
    """The exporter named ``fmt``; ExportError naming the formats when there is none."""
    found = EXPORTERS.get(fmt) if isinstance(fmt, str) else None
    if found is None:
        raise ExportError(f"`fmt` must be one of {', '.join(EXPORTERS)}, but got fmt={fmt!r}"
                          + did_you_mean(str(fmt), EXPORTERS))
    return found
