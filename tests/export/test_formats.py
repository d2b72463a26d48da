"""The contract every export format keeps: one row of EXPORTERS, run through the same checks.

A new format passes these by being a row whose writer writes what the row says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from genesynth.errors import ExportError, RunError
from genesynth.export.exporters import export_architecture, export_member
from genesynth.export.formats import EXPORTERS, Exporter, exporter
from tests.export.test_exporters import logits_only, make_run


def _available(fmt: str) -> None:
    if fmt == "onnx" and importlib.util.find_spec("onnx") is None:
        pytest.skip("the onnx extra is not installed")


@pytest.fixture(params=sorted(EXPORTERS))
def fmt(request: pytest.FixtureRequest) -> str:
    _available(request.param)
    return str(request.param)


def test_a_row_says_what_it_is(fmt: str) -> None:
    row = EXPORTERS[fmt]
    assert row.suffix.startswith(".") and row.summary
    assert all(s.startswith(".") and s != row.suffix for s in row.beside)
    assert callable(row.writer())


def test_a_member_is_written_as_the_row_says(fmt: str, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", {"A": logits_only()})
    row = EXPORTERS[fmt]
    written = export_member(run, "A", fmt)
    model = run / "family" / "A" / f"model{row.suffix}"
    beside = [model.with_suffix(s) for s in row.beside] if row.needs_weights else []
    assert written == [model, *beside]
    assert all(path.is_file() and path.stat().st_size > 0 for path in written)
    with pytest.raises(ExportError, match="already exist"):
        export_member(run, "A", fmt)
    assert export_member(run, "A", fmt, overwrite=True) == written


def test_weights_are_read_only_where_the_row_takes_them(fmt: str, tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", {"A": logits_only()})
    (run / "family" / "A" / "weights.safetensors").unlink()
    if EXPORTERS[fmt].needs_weights:
        with pytest.raises(RunError):
            export_member(run, "A", fmt)
    else:
        assert export_member(run, "A", fmt)


def test_an_architecture_alone_is_exported_without_weights(fmt: str, tmp_path: Path) -> None:
    row = EXPORTERS[fmt]
    path = tmp_path / f"net{row.suffix}"
    assert export_architecture(logits_only(), path, fmt) == [path]
    if row.beside:
        with pytest.raises(ExportError, match=f"name the {row.suffix} file"):
            export_architecture(logits_only(), path.with_suffix(row.beside[0]), fmt)


def test_an_unknown_format_is_named_with_the_known_ones() -> None:
    with pytest.raises(ExportError) as error:
        exporter("onx")
    assert str(error.value).startswith(f"`fmt` must be one of {', '.join(EXPORTERS)}, but got "
                                       "fmt='onx'")


def test_a_new_format_is_one_row(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The table is all there is: a row whose writer lives anywhere is a format."""
    monkeypatch.setitem(EXPORTERS, "keys", Exporter(
        ".txt", False, "tests.export.test_formats:write_key", summary="the canonical key"))
    run = make_run(tmp_path / "run", {"A": logits_only()})
    (path,) = export_member(run, "A", "keys")
    assert path.name == "model.txt" and path.read_text() == logits_only().key + "\n"


def write_key(arch, path, state_dict, normalization):  # type: ignore[no-untyped-def]
    path.write_text(arch.key + "\n")
    return [path]
