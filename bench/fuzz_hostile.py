"""Hostile inputs for bench/fuzz_inputs.py (issue 25): special files, deep nesting, huge
counts and thread numbers, decompression bombs, symlink loops, damaged family.json.

Each ``make_*`` returns cases (``Case.argv`` names the scenario, ``Case.data`` its bytes) and
:data:`RUNNERS` feeds each kind to genesynth, as the command line or the API would.
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.fuzz_inputs import NUMBERS, Case, mutate, run_main

SPECIAL = ("fifo", "zero", "urandom", "directory", "huge", "loop", "dangling")
TARGETS = ("prototype", "architecture", "constraint", "npz", "cifar", "idx", "image",
           "storage", "family.json", "arch.json", "weights", "events", "baselines")
HUGE_NUMBERS = (*NUMBERS, "1e400", "inf", "-inf", "nan", "1" + "0" * 28, "99999999999999999999")
COUNT_FLAGS = ("--family", "--epochs", "--full-epochs", "--heartbeat", "--supernet-epochs",
               "--supernet-batch", "--trials", "--table-delay", "--seed")
KINDS = ("special files", "deep nesting", "huge counts", "decompression", "symlink loops",
         "family.json")
_BOMB: list[bytes] = []


def make(kind: str, count: int, rng: random.Random, demo: bytes) -> list[Case]:
    makers: dict[str, Callable[[int, random.Random], Case]] = {
        "special files": lambda i, r: Case(kind, f"{kind} #{i}", b"",
                                           (r.choice(TARGETS), r.choice(SPECIAL))),
        "deep nesting": _deep, "huge counts": _counts, "decompression": _bomb_case,
        "symlink loops": lambda i, r: Case(kind, f"{kind} #{i}", b"", (str(r.randrange(2**32)),)),
        "family.json": lambda i, r: _family_case(i, r, demo),
    }
    return [makers[kind](i, rng) for i in range(count)]


# -- cases ------------------------------------------------------------------------------------


def _deep(i: int, rng: random.Random) -> Case:
    depth = rng.choice((49, 50, 51, 200, 500, 5000, 100_000))
    where = rng.choice(("list", "group", "arith", "json", "toml"))
    if where == "list":
        text = ("network n { input 3x8x8 classes 2 stem { conv(out=" + "[" * depth + "8"
                + "]" * depth + ") } head { gap linear(out=classes) } }")
    elif where == "group":
        text = ("network n { input 3x8x8 classes 2 stem { " + "(" * depth + "relu"
                + ")" * depth + " } head { gap linear(out=classes) } }")
    elif where == "arith":
        text = ("network n { input 3x8x8 classes 2 stem { conv(out=8" + " + 0" * depth
                + ") } head { gap linear(out=classes) } }")
    elif where == "json":
        text = '{"format": 1, "modules": ' + "[" * depth + "]" * depth + "}"
    else:
        text = "[bounds]\nmin_accuracy = " + "[" * depth + "]" * depth + "\n"
    return Case("deep nesting", f"deep nesting #{i}", text.encode(), (where,))


def _counts(i: int, rng: random.Random) -> Case:
    value = rng.choice(HUGE_NUMBERS)
    where = rng.choice(("flag", "threads", "watch", "arch modules"))
    if where == "flag":
        return Case("huge counts", f"huge counts #{i}", b"", ("flag", rng.choice(COUNT_FLAGS),
                                                             value))
    return Case("huge counts", f"huge counts #{i}", value.encode(), (where,))


def _bomb_case(i: int, rng: random.Random) -> Case:
    return Case("decompression", f"decompression #{i}", b"",
                (rng.choice(("npz zeros", "npz header", "idx gzip", "idx header")),
                 str(rng.randrange(2**32))))


def _family_case(i: int, rng: random.Random, demo: bytes) -> Case:
    data = json.loads(demo)
    member = rng.choice(data["members"])
    key = rng.choice([*member, "members", "label", "weights_sha256"])
    value = rng.choice((None, -5, "97", 1e308, True, [], {}, "A\n<script>", "../../x",
                        "family/A/arch.json", "/etc/passwd", 10**30, "z" * 64, "B", 0))
    if key == "members":
        data["members"] = rng.choice((None, {}, {"A": "x"}, ["A"], [member] * 2, [member] * 2000))
    else:
        member[key] = value
    raw = json.dumps(data).encode()
    if rng.random() < 0.3:
        raw = mutate(raw, rng, [raw])
    command = rng.choice(("report", "export", "diff", "watch"))
    return Case("family.json", f"family.json #{i}", raw, (command,))


# -- running ----------------------------------------------------------------------------------


def _special_file(path: Path, how: str, folder: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() or path.is_symlink():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    if how == "fifo":
        os.mkfifo(path)
    elif how in ("zero", "urandom"):
        path.symlink_to(f"/dev/{how}")
    elif how == "directory":
        path.mkdir()
    elif how == "huge":
        with open(path, "wb") as stream:
            stream.truncate(20 * 2**30)  # sparse: nothing is written
    elif how == "loop":
        path.symlink_to(path)
    else:
        path.symlink_to(folder / "nothing-here")


def run_special(case: Case, folder: Path) -> None:
    target, how = case.argv
    run = demo_copy(folder)
    places = {"prototype": folder / "p.gs", "architecture": folder / "a.json",
              "constraint": folder / "c.toml", "npz": folder / "d.npz",
              "cifar": folder / "cifar" / "data_batch_1.bin",
              "idx": folder / "idx" / "train-images-idx3-ubyte",
              "image": folder / "img" / "cat" / "a.png", "storage": folder / "s.url",
              "family.json": run / "family.json", "arch.json": run / "family/A/arch.json",
              "weights": run / "family/A/weights.safetensors", "events": run / "events.jsonl",
              "baselines": run / "baselines.json"}
    path = places[target]
    _special_file(path, how, folder)
    (folder / "ok.toml").write_text("[bounds]\nmax_macs = \"5M\"\n")
    proto = str(Path(__file__).resolve().parent.parent / "prototypes" / "attonet16.gs")
    data = {"npz": path, "cifar": path.parent, "idx": path.parent, "image": path.parent.parent}
    argv = {"prototype": ["check", str(path)], "architecture": ["show", str(path)],
            "constraint": ["synthesize", proto, "--constraint", str(path), "--data", "digits",
                           "--out", str(folder / "r")],
            "storage": ["watch", "--storage-file", str(path), "--plain"],
            "family.json": ["report", str(run)], "arch.json": ["diff", f"{run}:A", f"{run}:B"],
            "weights": ["export", str(run), "--out", str(folder / "m.py")],
            "events": ["watch", str(run), "--plain"], "baselines": ["report", str(run)]}
    if target in data:
        from genesynth.data import load_data

        load_data(str(data[target]), val_fraction=0.25, test_fraction=0.25)
        return
    run_main(argv[target])


def run_deep(case: Case, folder: Path) -> None:
    (where,) = case.argv
    suffix = {"json": "a.json", "toml": "c.toml"}.get(where, "p.gs")
    path = folder / suffix
    path.write_bytes(case.data)
    if where == "toml":
        from genesynth.goal.constraint import load_constraint

        load_constraint(path)
        return
    run_main(["show", str(path)] if where == "json" else ["check", str(path)])


def run_counts(case: Case, folder: Path) -> None:
    where = case.argv[0]
    if where == "flag":
        (folder / "c.toml").write_text("[bounds]\nmax_macs = \"5M\"\n")
        proto = str(Path(__file__).resolve().parent.parent / "prototypes" / "attonet16.gs")
        run_main(["synthesize", proto, "--constraint", str(folder / "c.toml"), "--data",
                  str(folder / "none"), case.argv[1], case.argv[2], "--out", str(folder / "r")])
    elif where == "threads":
        from genesynth.goal.constraint import load_constraint

        (folder / "c.toml").write_bytes(b"[latency]\nthreads = " + case.data + b"\n")
        load_constraint(folder / "c.toml")
    elif where == "watch":
        run_main(["watch", str(demo_copy(folder)), "--interval", case.data.decode()])
    else:
        from genesynth.net.arch import Architecture

        data = json.loads(arch_json())
        try:
            count = min(int(float(case.data)), 20_000)
        except (ValueError, OverflowError):
            count = 20_000
        data["modules"] = [data["modules"][0]] * max(0, count)
        path = folder / "a.json"
        path.write_text(json.dumps(data))
        Architecture.from_json(path.read_text(), str(path))


def run_bomb(case: Case, folder: Path) -> None:
    from genesynth.data import load_data

    what, seed = case.argv
    rng = random.Random(int(seed))
    if what == "npz zeros":
        path = folder / "d.npz"
        path.write_bytes(bomb())
    elif what == "npz header":
        path = folder / "d.npz"
        header = io.BytesIO()
        import numpy as np

        shape = (rng.choice((100_000, 2**31, 10**6)), 100, 100)
        np.lib.format.write_array_header_1_0(
            header, {"descr": "<f8", "fortran_order": False, "shape": shape})
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("x.npy", header.getvalue() + bytes(rng.randrange(64, 4096)))
            archive.writestr("y.npy", header.getvalue()[:0] + b"")
    else:
        import gzip

        path = folder / "idx"
        path.mkdir()
        dims = (rng.choice((60_000, 2**20, 2**31 - 1)), rng.choice((28, 1000, 65535)), 28)
        head = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in dims)
        body = head + bytes(rng.randrange(0, 2**20))
        name = "train-images-idx3-ubyte" + (".gz" if what == "idx gzip" else "")
        (path / name).write_bytes(gzip.compress(body, 1) if what == "idx gzip" else body)
        labels = (0x801).to_bytes(4, "big") + (8).to_bytes(4, "big") + bytes([0, 1] * 4)
        (path / "train-labels-idx1-ubyte").write_bytes(labels)
    load_data(str(path), val_fraction=0.25, test_fraction=0.25)


def bomb() -> bytes:
    """An npz of a few hundred kB holding 400 MB of zeros (uint8, shape (40000, 100, 100)):
    more than half of what the probe's memory cap leaves, made once."""
    if not _BOMB:
        import numpy as np

        header = io.BytesIO()
        np.lib.format.write_array_header_1_0(
            header, {"descr": "|u1", "fortran_order": False, "shape": (40_000, 100, 100)})
        zeros = bytes(4_000_000)
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
            with archive.open("x.npy", "w", force_zip64=True) as member:
                member.write(header.getvalue())
                for _ in range(100):
                    member.write(zeros)
            archive.writestr("y.npy", _npy_labels())
        _BOMB.append(out.getvalue())
    return _BOMB[0]


def _npy_labels() -> bytes:
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, np.zeros(40_000, dtype=np.int64))
    return buffer.getvalue()


def run_loops(case: Case, folder: Path) -> None:
    import numpy as np
    from PIL import Image

    from genesynth.data import load_data

    rng = random.Random(int(case.argv[0]))
    root = folder / "img"
    for name in ("cat", "dog"):
        (root / name).mkdir(parents=True)
        for k in range(3):
            pixels = np.full((6, 6, 3), rng.randrange(256), dtype=np.uint8)
            Image.fromarray(pixels).save(root / name / f"i{k}.png")
    places = [root, root / "cat", root / "dog"]
    for k in range(rng.randint(1, 4)):
        where = rng.choice(places) / f"link{k}{rng.choice(('', '.png', '.jpg'))}"
        target = rng.choice((where, root, root / "cat", folder, folder / "none", Path("/"),
                             where.parent / f"link{(k + 1) % 4}"))
        if not where.exists() and not where.is_symlink():
            where.symlink_to(target)
    load_data(str(root), input_shape=(3, 8, 8), val_fraction=0.25, test_fraction=0.25)


def run_family(case: Case, folder: Path) -> None:
    run = demo_copy(folder)
    (run / "family.json").write_bytes(case.data)
    (command,) = case.argv
    argv = {"report": ["report", str(run)],
            "export": ["export", str(run), "--format", "json", "--out", str(folder / "a.json")],
            "diff": ["diff", f"{run}:A", f"{run}:B"], "watch": ["watch", str(run), "--plain"]}
    run_main(argv[command])


# -- the demo run -----------------------------------------------------------------------------

DEMO: list[Path] = []


def arch_json() -> str:
    """A member's architecture JSON of the demo run."""
    return (demo_template() / "family" / "A" / "arch.json").read_text()


def demo_template() -> Path:
    """A small real run directory (tests/demo_run.py), written once per process tree."""
    if not DEMO:
        import tempfile

        from tests.demo_run import write_demo_run

        DEMO.append(write_demo_run(Path(tempfile.mkdtemp(prefix="fuzz-demo-")) / "run"))
    return DEMO[0]


def demo_copy(folder: Path) -> Path:
    return Path(shutil.copytree(demo_template(), folder / "run", symlinks=True))


RUNNERS: dict[str, Callable[[Case, Path], Any]] = {
    "special files": run_special, "deep nesting": run_deep, "huge counts": run_counts,
    "decompression": run_bomb, "symlink loops": run_loops, "family.json": run_family,
}
