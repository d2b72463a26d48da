"""Command-line arguments and pipes: a clear error or a quiet exit, never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from genesynth import synthesize
from genesynth.cli import main
from genesynth.errors import GenesynthError, RunError
from tests.commands.test_synthesize import files  # noqa: F401  (a fixture)

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("argv", "message"), [
    (["sample", "prototypes/attonet16.gs", "--seed", "-5"],
     "argument --seed: expected a seed from 0 to 4294967295, but got '-5'"),
    (["sample", "prototypes/attonet16.gs", "--seed", str(10**30)],
     "argument --seed: expected a seed from 0 to 4294967295, but got '10000000000000000000...' "
     "(31 chars)"),
    (["show", "prototypes/attonet16.gs", "--seed", "1.5"],
     "argument --seed: expected a seed from 0 to 4294967295, but got '1.5'"),
    (["synthesize", "p.gs", "--constraint", "c.toml", "--seed", "-1"],
     "argument --seed: expected a seed from 0 to 4294967295, but got '-1'"),
    (["check", "prototypes/attonet16.gs", "--input", f"3x{2**40}x8"],
     f"argument --input: expected CxHxW such as 3x32x32, but got '3x{2**40}x8'"),
    (["check", "prototypes/attonet16.gs", "--classes", "٣"],
     "argument --classes: expected a positive integer up to 2,147,483,647, but got '٣'"),
])
def test_an_argument_out_of_range_is_a_usage_error(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert capsys.readouterr().err.splitlines()[-1].endswith(f"error: {message}")


@pytest.mark.parametrize(("kwargs", "message"), [
    (dict(seed=-5), "`seed` must be an integer from 0 to 4294967295, but got seed=-5"),
    (dict(seed=10**30), "`seed` must be an integer from 0 to 4294967295, but got "
     "seed=a 31-digit number"),
    (dict(trials=10**30), "`trials` must be at most 1,000,000, but got trials=a 31-digit number"),
    (dict(family_size=10**28), "`family_size` must be at most 26, but got family_size=a "
     "29-digit number"),
    (dict(epochs=10**28), "`epochs` must be at most 100,000, but got epochs=a 29-digit number"),
    (dict(full_epochs=10**28), "`full_epochs` must be at most 100,000, but got full_epochs=a "
     "29-digit number"),
])
def test_the_api_refuses_the_same_values(
    files: tuple[Path, Path], tmp_path: Path, kwargs: dict[str, int], message: str  # noqa: F811
) -> None:
    proto, rules = files
    with pytest.raises(GenesynthError) as info:
        synthesize(proto, rules, out=tmp_path / "run", **kwargs)  # type: ignore[arg-type]
    assert str(info.value) == message
    assert not (tmp_path / "run").exists()


def test_trials_past_the_limit_are_refused(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", str(10**30),
                 "--out", str(tmp_path / "run")])
    assert (code, capsys.readouterr().err) == (
        2, "error: `--trials` must be at most 1,000,000, but got --trials=a 31-digit number\n")
    assert not (tmp_path / "run").exists()
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--trials", "9" * 400])
    assert (code, capsys.readouterr().err) == (  # found by tests/test_fuzz_inputs.py
        2, "error: `--trials` must be at most 1,000,000, but got --trials=a 400-digit number\n")


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--family", str(10**28), "`--family` must be at most 26, but got --family=a 29-digit number"),
    ("--epochs", str(10**28), "`--epochs` must be at most 100,000, but got --epochs=a 29-digit "
     "number"),
    ("--full-epochs", str(10**28), "`--full-epochs` must be at most 100,000, but got "
     "--full-epochs=a 29-digit number"),
    ("--heartbeat", str(10**28), "`--heartbeat` must be at most 86,400, but got --heartbeat=a "
     "29-digit number"),
    ("--table-delay", "inf", "`--table-delay` must be seconds from 0 to 86,400, but got "
     "--table-delay=inf"),
    ("--table-delay", "nan", "`--table-delay` must be seconds from 0 to 86,400, but got "
     "--table-delay=nan"),
])
def test_counts_past_their_limit_are_refused(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
    flag: str, value: str, message: str,
) -> None:
    """Issue 25: --family 10**28 grew to 4.5 GB, --table-delay inf was an OverflowError."""
    proto, rules = files
    code = main(["synthesize", str(proto), "--constraint", str(rules), flag, value,
                 "--out", str(tmp_path / "run")])
    assert (code, capsys.readouterr().err) == (2, f"error: {message}\n")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory", "huge"])
@pytest.mark.parametrize("command", ["check", "show", "constraint", "arch"])
def test_only_regular_files_of_bounded_size_are_read(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str],  # noqa: F811
    kind: str, command: str,
) -> None:
    """Issue 25: a FIFO blocked forever, /dev/zero read until memory ran out."""
    path = tmp_path / ("x.json" if command == "arch" else "x")
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "/dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    else:
        with open(path, "wb") as stream:  # sparse: 17 MiB announced, nothing written
            stream.truncate(17 * 2**20)
    proto, rules = files
    argv = {"check": ["check", str(path)], "show": ["show", str(path)],
            "constraint": ["synthesize", str(proto), "--constraint", str(path),
                           "--out", str(tmp_path / "run")],
            "arch": ["show", str(path)]}[command]
    what = {"check": "prototype", "show": "prototype", "constraint": "constraint file",
            "arch": "architecture"}[command]
    found = {"fifo": "a FIFO (named pipe)", "/dev/zero": "a character device",
             "directory": "a directory"}
    assert main(argv) == 2
    err = capsys.readouterr().err
    if kind == "huge":
        assert err == (f"error: {path}: the {what} holds 17,825,792 bytes; at most 16,777,216 "
                       "are read\n")
    else:
        assert err == f"error: {path}: the {what} must be a regular file, but it is {found[kind]}\n"


def test_out_with_a_name_too_long_is_a_clear_error(
    files: tuple[Path, Path], capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    """Found by bench/fuzz_inputs.py at volume: an ENAMETOOLONG traceback."""
    proto, rules = files
    out = "9" * 400
    code = main(["synthesize", str(proto), "--constraint", str(rules), "--out", out])
    assert (code, capsys.readouterr().err) == (
        2, f"error: {out}: cannot use it as the run directory: File name too long\n")


def test_out_naming_a_file_is_refused(
    files: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]  # noqa: F811
) -> None:
    proto, rules = files
    taken = tmp_path / "notes.txt"
    taken.write_text("mine")
    for out in (taken, taken / "run"):
        code = main(["synthesize", str(proto), "--constraint", str(rules), "--out", str(out)])
        assert (code, capsys.readouterr().err) == (
            2, f"error: {out}: the run directory must be a directory, but {taken} is a file\n")
    assert taken.read_text() == "mine"
    with pytest.raises(RunError):
        synthesize(proto, rules, out=taken)


def test_a_closed_pipe_ends_quietly() -> None:
    """``genesynth sample ... | head -1``: the reader leaves; no BrokenPipeError traceback."""
    child = subprocess.Popen(
        [sys.executable, "-m", "genesynth.cli", "sample", "prototypes/attonet16.gs"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # before the child writes: its first write meets a closed pipe
    err = child.stderr.read()
    assert (child.wait(timeout=60), err) == (141, b"")


def test_check_prints_a_huge_space_and_warns_about_unbuildable_networks(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "big.gs"
    path.write_text(
        "network big {\n  input 3x8x8\n  classes 4\n  stem { conv(out=8) }\n"
        "  modules { wide * 300 }\n  head { gap linear(out=classes) }\n}\n"
        "module wide { conv(kernel=[1, 3], out=[8, 16, 46000]) conv(out=8) }\n"
    )
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[5] == f"  space size    {6**300:.3e}"
    assert out[-1].startswith("warning: networks of this space reach ")
    assert out[-1].endswith(" parameters; above 1.00G a network cannot be built in memory, and "
                            "synthesis rejects such candidates")


def test_a_space_size_beyond_floats_is_printed_exactly() -> None:
    from genesynth.commands.check import _size

    assert [_size(n) for n in (999_999_999_999, 10**12, 99995 * 10**20, 7 * 10**5000 + 1)] == [
        "999,999,999,999", "1.000e+12", "1.000e+25", "7.000e+5000"]


def test_the_command_line_parser_loads_neither_torch_nor_optuna() -> None:
    # `genesynth --help` (and every command's --help) answers at once: ~0.2 s, not the ~2 s
    # that importing torch takes; the settings and budgets it shows live in torch-free modules
    code = ("import sys; from genesynth.cli import parser; parser(); "
            "print(sorted(m for m in ('torch', 'optuna', 'numpy') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, check=True)
    assert done.stdout.strip() == "[]"
