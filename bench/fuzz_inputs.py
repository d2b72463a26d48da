"""Probe: mutated and hostile inputs must end in a GenesynthError, never a traceback or hang.

    python bench/fuzz_inputs.py [--cases 200] [--seed 0] [--limit 20]

A seeded mutator (byte flips, cut and repeated spans, absurd numbers, deep nesting, non-UTF-8
bytes, splices) works on the shipped prototypes/*.gs, constraints/*.toml, an architecture
JSON, small npz and IDX files and command lines; bench/fuzz_hostile.py adds special files
(FIFOs, /dev/zero, directories, sparse 20 GiB files, link loops) in every place genesynth
reads, nesting thousands deep, huge counts and thread numbers, decompression bombs, symlink
loops in image folders and damaged family.json under report, export, diff and watch (issue
25). Each case runs in a worker process under a
per-case time limit and a memory cap. Prints, per input kind, how many cases were tried, were
accepted, ended in a clean error, a traceback, or a hang / memory blow-up (the table of issue
14), then the first tracebacks with the input that made them. ``--cases`` is per kind.
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import io
import multiprocessing as mp
import queue
import random
import resource
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
NUMBERS = ("0", "-1", "1", "2147483648", str(2**64), "1" + "0" * 30, "9" * 400, "1e400",
           "inf", "nan", "-inf", "0.5", "3.0", "1" * 5000, "100000", "65535")
TOKENS = ("(", ")", "[", "]", "{", "}", "*", "* 100000", "?", "|", ",", "..", "as t", "skip",
          "module", "in", "classes", "relu", "x", "=", "\"", "#", "\n", "\xff", "\u00e9",
          " + 0" * 300, "(" * 300, "[" * 300, "{a=" * 300)
MEMORY_CAP = 6 * 2**30


class Timeout(Exception):
    """A case ran past its time limit."""


class CleanExit(Exception):
    """The command printed one error line and exited with status 2."""


@dataclass(frozen=True)
class Case:
    kind: str
    name: str
    data: bytes
    argv: tuple[str, ...] = ()


# -- mutation ---------------------------------------------------------------------------------


def mutate(data: bytes, rng: random.Random, seeds: list[bytes]) -> bytes:
    """One to three random edits of ``data``."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(out) + 1)
        op = rng.randrange(7)
        if op == 0 and out:  # flip a byte
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif op == 1:  # cut a span
            del out[at:at + rng.randint(1, 40)]
        elif op == 2:  # repeat a span
            out[at:at] = out[at:at + rng.randint(1, 40)] * rng.randint(2, 50)
        elif op == 3:  # an absurd number in place of a number
            out = bytearray(_replace_number(bytes(out), rng))
        elif op == 4:
            out[at:at] = rng.choice(TOKENS).encode("utf-8", "surrogateescape")
        elif op == 5:
            out[at:at] = rng.choice(NUMBERS).encode()
        else:  # splice with another seed
            other = rng.choice(seeds)
            cut = rng.randrange(len(other) + 1)
            out = out[:at] + bytearray(other[cut:])
    if rng.random() < 0.03:
        out += b"\xff\xfe"
    return bytes(out)


def _replace_number(data: bytes, rng: random.Random) -> bytes:
    text = data.decode("latin-1")
    spots = [i for i in range(len(text)) if text[i].isdigit() and (i == 0 or not
             text[i - 1].isdigit())]
    if not spots:
        return data
    start = rng.choice(spots)
    end = start
    while end < len(text) and text[end].isdigit():
        end += 1
    return (text[:start] + rng.choice(NUMBERS) + text[end:]).encode("latin-1")


# -- seeds ------------------------------------------------------------------------------------


def seeds() -> dict[str, list[bytes]]:
    prototypes = [p.read_bytes() for p in sorted((ROOT / "prototypes").glob("*.gs"))]
    constraints = [p.read_bytes() for p in sorted((ROOT / "constraints").glob("*.toml"))]
    from genesynth import load_prototype

    arch = load_prototype(ROOT / "prototypes" / "attonet16.gs", input_shape=(1, 8, 8)).sample(0)
    return {"prototype": prototypes, "constraint": constraints,
            "arch": [arch.to_json().encode()], "npz": [_npz()], "idx": [_idx()]}


def _npz() -> bytes:
    buffer = io.BytesIO()
    rng = np.random.default_rng(0)
    np.savez(buffer, x=rng.random((8, 1, 4, 4)), y=np.arange(8) % 2)
    return buffer.getvalue()


def _idx() -> bytes:
    header = (0x803).to_bytes(4, "big") + b"".join(d.to_bytes(4, "big") for d in (8, 4, 4))
    return header + bytes(range(128))


def make_cases(kind: str, count: int, rng: random.Random, pool: dict[str, list[bytes]]
               ) -> list[Case]:
    source = {"prototype (API)": "prototype", "prototype (CLI)": "prototype",
              "constraint file": "constraint", "architecture JSON (show)": "arch",
              "data file (npz, IDX)": "npz", "CLI arguments": "prototype"}[kind]
    cases = []
    for i in range(count):
        if kind == "data file (npz, IDX)":
            source = "npz" if i % 2 == 0 else "idx"
        base = pool[source]
        data = mutate(rng.choice(base), rng, base)
        argv = _argv(rng) if kind == "CLI arguments" else ()
        if kind == "CLI arguments":
            data = rng.choice(base)
        cases.append(Case(kind, f"{kind} #{i}", data, argv))
    return cases


def _argv(rng: random.Random) -> tuple[str, ...]:
    value = rng.choice(NUMBERS + ("-5", "3x8x8", "0x8x8", "3x8", "abc", ""))
    command = rng.choice(("sample", "show", "check", "synthesize"))
    flag = rng.choice({"sample": ("--seed", "--input", "--classes"),
                       "show": ("--seed", "--input", "--classes"),
                       "check": ("--input", "--classes"),
                       "synthesize": ("--seed", "--trials", "--family", "--epochs",
                                      "--full-epochs", "--heartbeat", "--out")}[command])
    return (command, flag, value)


# -- running one case -------------------------------------------------------------------------


def run_case(case: Case, folder: Path) -> None:
    """Feed the case to genesynth; raises whatever genesynth raises."""
    from bench.fuzz_hostile import RUNNERS

    runners: dict[str, Callable[[Case, Path], Any]] = {
        "prototype (API)": _api_prototype, "constraint file": _constraint,
        "data file (npz, IDX)": _data, **RUNNERS,
    }
    if case.kind in runners:
        runners[case.kind](case, folder)
        return
    path = folder / ("a.json" if case.kind.startswith("architecture") else "p.gs")
    path.write_bytes(case.data)
    if case.kind == "CLI arguments":
        argv = _cli_argv(case, path, folder)
    elif case.kind.startswith("architecture"):
        argv = ["show", str(path)]
    else:
        argv = [random.Random(case.name).choice(("sample", "check")), str(path)]
    run_main(argv)


def run_main(argv: list[str]) -> None:
    """``genesynth ARGV`` with its output swallowed: CleanExit for a clean error (status 2),
    RuntimeError for any other failing status."""
    from genesynth.cli import main

    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        try:
            code = main(argv)
        except SystemExit as stop:  # argparse's usage error
            code = stop.code if isinstance(stop.code, int) else 2
    if code == 2:
        raise CleanExit
    if code != 0:
        raise RuntimeError(f"exit status {code}")


def _cli_argv(case: Case, path: Path, folder: Path) -> list[str]:
    command, flag, value = case.argv
    argv = [command, str(path), flag, value]
    if command == "synthesize":  # never a real run: the data does not exist
        (folder / "c.toml").write_text("[bounds]\nmax_macs = \"5M\"\n")
        argv += ["--constraint", str(folder / "c.toml"), "--data", str(folder / "none")]
        if flag != "--out":
            argv += ["--out", str(folder / "run")]
    return argv


def _api_prototype(case: Case, folder: Path) -> None:
    from genesynth import build, cost, parse_prototype
    from genesynth.errors import GenesynthError

    proto = parse_prototype(case.data.decode("utf-8", "replace"), "p.gs")
    _ = proto.space_size, proto.choices()
    try:
        arch = proto.sample(0)
    except GenesynthError:
        return
    if cost(arch).params <= 2_000_000:
        build(arch)


def _constraint(case: Case, folder: Path) -> None:
    from genesynth.goal.constraint import load_constraint
    from genesynth.net.measurement import Measurement

    path = folder / "c.toml"
    path.write_bytes(case.data)
    rule = load_constraint(path)
    m = Measurement(accuracy=90.0, params=1000, macs=100_000, latency_ms=1.0)
    rule.utility(m), rule.violations(m), rule.optuna_values(m), rule.describe()


def _data(case: Case, folder: Path) -> None:
    from genesynth.data import load_data

    if case.data[:2] == b"PK":
        path = folder / "d.npz"
        path.write_bytes(case.data)
    else:
        path = folder / "idx"
        path.mkdir(exist_ok=True)
        data = gzip.compress(case.data) if len(case.data) % 2 else case.data
        name = "train-images-idx3-ubyte" + (".gz" if len(case.data) % 2 else "")
        (path / name).write_bytes(data)
        labels = (0x801).to_bytes(4, "big") + (8).to_bytes(4, "big") + bytes([0, 1] * 4)
        (path / "train-labels-idx1-ubyte").write_bytes(labels)
    load_data(str(path), val_fraction=0.25, test_fraction=0.25)


# -- the worker -------------------------------------------------------------------------------


def classify(case: Case, limit: float) -> tuple[str, str]:
    """("accepted" | "clean" | "traceback" | "hang", detail), in this process."""
    from genesynth.errors import GenesynthError

    def alarm(signum: int, frame: Any) -> None:
        raise Timeout

    signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, limit)
    try:
        with tempfile.TemporaryDirectory() as folder:
            run_case(case, Path(folder))
        return "accepted", ""
    except (GenesynthError, CleanExit):
        return "clean", ""
    except (Timeout, MemoryError) as exc:
        return "hang", type(exc).__name__
    except BaseException:  # a traceback: what the probe is looking for
        return "traceback", traceback.format_exc(limit=-3)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)


def _worker(cases: list[Case], limit: float, results: Any) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
    import torch

    torch.set_num_threads(1)
    for case in cases:
        results.put((case.name, *classify(case, limit)))


def probe(cases: list[Case], limit: float) -> dict[str, tuple[str, str]]:
    """Run ``cases`` in worker processes; a worker that dies or stalls marks its case a hang."""
    context = mp.get_context("fork")
    outcome: dict[str, tuple[str, str]] = {}
    todo = list(cases)
    while todo:
        results = context.Queue()
        worker = context.Process(target=_worker, args=(todo, limit, results), daemon=True)
        worker.start()
        waited = 0.0
        while todo:
            try:
                name, what, detail = results.get(timeout=1.0)
            except queue.Empty:
                waited += 1.0
                if worker.is_alive() and waited < limit * 2 + 60:
                    continue
                outcome[todo[0].name] = ("hang", "the worker died or stalled")
                todo = todo[1:]
                worker.kill()
                break
            waited = 0.0
            outcome[name] = (what, detail)
            todo = todo[1:]
        worker.join(timeout=10)
    return outcome


BASIC = ("prototype (API)", "prototype (CLI)", "constraint file", "architecture JSON (show)",
         "data file (npz, IDX)", "CLI arguments")
HOSTILE = ("special files", "deep nesting", "huge counts", "decompression", "symlink loops",
           "family.json")  # issue 25: bench/fuzz_hostile.py
KINDS = (*BASIC, *HOSTILE)


def all_cases(per_kind: int, seed: int, hostile: int | None = None) -> list[Case]:
    """``per_kind`` cases of each kind (``hostile`` of each of HOSTILE, when given)."""
    from bench import fuzz_hostile

    rng = random.Random(seed)
    pool = seeds()
    demo = (fuzz_hostile.demo_template() / "family.json").read_bytes()
    cases = [case for kind in BASIC for case in make_cases(kind, per_kind, rng, pool)]
    count = per_kind if hostile is None else hostile
    return cases + [case for kind in HOSTILE for case in fuzz_hostile.make(kind, count, rng,
                                                                            demo)]


def table(cases: list[Case], outcome: dict[str, tuple[str, str]]) -> str:
    lines = ["| input kind | tried | accepted | clean error | traceback | hang / memory |",
             "|---|---|---|---|---|---|"]
    for kind in KINDS:
        mine = [outcome[c.name][0] for c in cases if c.kind == kind]
        counts = [mine.count(k) for k in ("accepted", "clean", "traceback", "hang")]
        lines.append(f"| {kind} | {len(mine)} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per input kind")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--limit", type=float, default=20.0, help="seconds per case")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    cases = all_cases(args.cases, args.seed)
    outcome = probe(cases, args.limit)
    print(f"python bench/fuzz_inputs.py --cases {args.cases} --seed {args.seed} "
          f"--limit {args.limit:g}\n")
    print(table(cases, outcome))
    bad = [(c, outcome[c.name]) for c in cases if outcome[c.name][0] in ("traceback", "hang")]
    for case, (what, detail) in bad[:10]:
        print(f"\n{case.name}: {what}; argv {case.argv}; input {case.data[:300]!r}\n{detail}")


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    from bench import fuzz_inputs  # one copy of this module, its classes shared with the cases

    fuzz_inputs.main()
