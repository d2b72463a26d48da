"""The evaluation cache: exact round-trips, keys that see every setting, corrupt entries
ignored with a warning, atomic writes from several processes."""

from __future__ import annotations

import json
import multiprocessing
import os
from pathlib import Path
from typing import Any

import pytest
import torch

from genesynth.evaluate.base import Evaluator
from genesynth.evaluate.cache import (
    CachedRetrain,
    CacheError,
    CacheWarning,
    EvaluationCache,
    context_of,
    default_cache_dir,
)
from genesynth.net.measurement import Measurement

DATA = {"spec": "digits", "name": "digits", "fingerprint": "abc123", "input_shape": [1, 8, 8]}
EVALUATOR = {"kind": "train", "epochs": 2}
M = Measurement(91.5, 1234, 56789, None, (80.0, 91.5), 0.25, 3.5)


def _cache(root: Path, seed: int = 0, **evaluator: Any) -> EvaluationCache:
    return EvaluationCache(root, context_of(DATA, {**EVALUATOR, **evaluator}, seed))


def test_a_stored_measurement_comes_back_equal(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    assert cache.lookup("k1") is None
    cache.store("k1", M, "runs/a trial 3")
    found = cache.lookup("k1")
    assert found is not None
    assert found.measurement == M
    assert found.source == f"evaluation cache {cache.path('search', 'k1')}"
    assert cache.lookup("k2") is None


def test_the_key_sees_data_evaluator_and_seed_but_not_the_data_path(tmp_path: Path) -> None:
    _cache(tmp_path).store("k1", M, "a")
    assert _cache(tmp_path, seed=1).lookup("k1") is None
    assert _cache(tmp_path, epochs=3).lookup("k1") is None
    other_data = EvaluationCache(tmp_path, context_of({**DATA, "fingerprint": "zzz"}, EVALUATOR, 0))
    assert other_data.lookup("k1") is None
    moved = EvaluationCache(tmp_path, context_of({**DATA, "spec": "/elsewhere"}, EVALUATOR, 0))
    assert moved.lookup("k1") is not None


def test_the_default_folder_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENESYNTH_CACHE", "/x/cache")
    assert default_cache_dir() == Path("/x/cache")
    monkeypatch.delenv("GENESYNTH_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", "/y")
    assert default_cache_dir() == Path("/y/genesynth")


@pytest.mark.parametrize(("damage", "why"), [
    (lambda e: "{not json", "not valid JSON (Expecting property name enclosed in double quotes)"),
    (lambda e: json.dumps({**e, "arch": "other"}),
     "it holds another architecture than its name says"),
    (lambda e: json.dumps({**e, "context": {"seed": 9}}),
     "it was measured under other settings than its name says"),
    (lambda e: json.dumps({**e, "measurement": {**e["measurement"], "accuracy": 140.0}}),
     "the accuracy 140.0 is not a percentage"),
    (lambda e: json.dumps({**e, "measurement": {**e["measurement"], "curve": None}}),
     "the measurement is incomplete"),
    (lambda e: json.dumps([1, 2]), "not a format-1 cache entry"),
])
def test_a_corrupt_entry_is_ignored_with_a_warning(tmp_path: Path, damage: Any, why: str) -> None:
    cache = _cache(tmp_path)
    path = cache.store("k1", M, "a")
    path.write_text(damage(json.loads(path.read_text())))
    with pytest.warns(CacheWarning) as caught:
        assert cache.lookup("k1") is None
    assert [str(w.message) for w in caught] == [f"evaluation cache: ignored {path}: {why}"]


def test_a_killed_writer_leaves_no_entry_and_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache = _cache(tmp_path)

    def killed(src: str, dst: str) -> None:
        raise KeyboardInterrupt  # the process dies between writing and moving into place

    monkeypatch.setattr(os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        cache.store("k1", M, "a")
    monkeypatch.undo()
    assert cache.lookup("k1") is None
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_an_unwritable_cache_warns_and_the_run_goes_on(tmp_path: Path) -> None:
    (tmp_path / "search").write_text("a file where the folder should be")
    with pytest.warns(CacheWarning, match="not stored"):
        _cache(tmp_path).store("k1", M, "a")


def _write_many(root: str, seed: int) -> int:
    cache = _cache(Path(root))
    for _ in range(50):
        cache.store("shared", M, f"writer {seed}")
    return seed


def test_two_processes_writing_one_entry_both_succeed(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(2) as pool:
        assert sorted(pool.starmap(_write_many, [(str(tmp_path), 1), (str(tmp_path), 2)])) == [1, 2]
    found = _cache(tmp_path).lookup("shared")
    assert found is not None and found.measurement == M
    assert found.source == f"evaluation cache {_cache(tmp_path).path('search', 'shared')}"
    assert [p.name for p in tmp_path.rglob("*.tmp")] == []


class _Retrainer(Evaluator):
    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, arch: Any, report: Any) -> Measurement:
        raise AssertionError("not called")

    def retrain(self, arch: Any, report: Any, searched: Measurement | None = None
                ) -> tuple[Measurement, dict[str, torch.Tensor]]:
        self.calls += 1
        return M, {"w": torch.arange(6.0).reshape(2, 3)}

    def test_accuracy(self, arch: Any, state: Any) -> float | None:
        """The test top-1 these weights score: M's for the weights retrain returns."""
        return M.accuracy if torch.equal(state["w"], torch.arange(6.0).reshape(2, 3)) else 42.96


class _Arch:
    key = "arch-key"


def test_a_retraining_is_reused_with_its_weights(tmp_path: Path) -> None:
    inner = _Retrainer()
    first = CachedRetrain(inner, _cache(tmp_path), "runs/a family")
    m, state = first.retrain(_Arch(), None)
    again = CachedRetrain(inner, _cache(tmp_path), "runs/b family")
    m2, state2 = again.retrain(_Arch(), None)
    assert inner.calls == 1
    where = again.cache.path("retrain", "arch-key")
    assert again.reused == {"arch-key": f"evaluation cache {where}"}
    assert m2 == m and torch.equal(state2["w"], state["w"])


def test_retrained_weights_that_do_not_match_their_entry_are_not_trusted(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    CachedRetrain(_Retrainer(), cache, "a").retrain(_Arch(), None)
    weights = cache.path("retrain", "arch-key", ".safetensors")
    weights.write_bytes(weights.read_bytes()[:-4] + b"\0\0\0\0")
    with pytest.warns(CacheWarning, match="the weights are not the ones the entry recorded"):
        assert cache.lookup_retrain("arch-key") is None


def test_a_retraining_entry_that_claims_more_than_its_weights_score_is_refused(
    tmp_path: Path
) -> None:
    """Issue 25: a crafted entry claiming 99.9 % was printed as the member's test top-1; its
    weights score 42.96 %. The weights are measured by a forward pass before reuse."""
    inner = _Retrainer()
    cache = _cache(tmp_path)
    CachedRetrain(inner, cache, "a").retrain(_Arch(), None)
    entry = cache.path("retrain", "arch-key")
    data = json.loads(entry.read_text())
    data["measurement"]["accuracy"] = 99.9
    data["source"] = "runs/trusted trial 1"
    entry.write_text(json.dumps(data))
    again = CachedRetrain(inner, cache, "b")
    with pytest.warns(CacheWarning, match=r"ignored .*: it claims test top-1 99.90% but its "
                                          r"weights score 91.50%"):
        m, _ = again.retrain(_Arch(), None)
    assert inner.calls == 2 and again.reused == {} and m == M  # retrained, not reused


def test_a_reused_retraining_reports_the_accuracy_its_weights_score(tmp_path: Path) -> None:
    inner = _Retrainer()
    cache = _cache(tmp_path)
    CachedRetrain(inner, cache, "a").retrain(_Arch(), None)
    entry = cache.path("retrain", "arch-key")
    data = json.loads(entry.read_text())
    data["measurement"]["accuracy"] = 91.7  # within the tolerance: another device, say
    entry.write_text(json.dumps(data))
    m, _ = CachedRetrain(inner, cache, "b").retrain(_Arch(), None)
    assert inner.calls == 1 and m.accuracy == 91.5


def test_a_cache_folder_others_may_write_is_refused(tmp_path: Path) -> None:
    """Issue 25: as ssh refuses a key others may write, a cache others may write is not used."""
    root = tmp_path / "cache"
    _cache(root).store("k1", M, "a")
    os.chmod(root, 0o777)
    with pytest.raises(CacheError) as info:
        _cache(root)
    assert str(info.value) == (
        f"{root}: the evaluation cache is writable by other users (mode 0777), who could make "
        f"it lie about a network's accuracy; refusing to use it (chmod go-w {root}, choose "
        "another --cache, or pass --no-cache)")
    os.chmod(root, 0o755)
    entry = _cache(root).path("search", "k1")
    os.chmod(entry.parent, 0o775)  # one folder inside: its entries are ignored
    with pytest.warns(CacheWarning, match=r"is writable by other users \(mode 0775\)"):
        assert _cache(root).lookup("k1") is None
    os.chmod(entry.parent, 0o755)
    os.chmod(entry, 0o666)
    with pytest.warns(CacheWarning, match=r"is writable by other users \(mode 0666\)"):
        assert _cache(root).lookup("k1") is None


def test_an_entry_that_is_a_fifo_is_ignored_not_waited_on(tmp_path: Path) -> None:
    cache = _cache(tmp_path)
    entry = cache.path("search", "k1")
    entry.parent.mkdir(parents=True)
    os.mkfifo(entry)
    with pytest.warns(CacheWarning, match=r"the cache entry must be a regular file, but it is a "
                                          r"FIFO"):
        assert cache.lookup("k1") is None
