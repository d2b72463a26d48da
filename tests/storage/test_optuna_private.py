"""Optuna's private API is used in one module, checked against the installed Optuna."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import optuna
from optuna.storages import JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend, JournalFileSymlinkLock

from genesynth.storage import optuna_private as private

ROOT = Path(__file__).resolve().parents[2] / "genesynth"
#: Optuna's private names genesynth has needed (on objects other than ``self``).
PRIVATE = {"_storage", "_trial_id", "_study_id", "_backend", "_cached_frozen_trial"}


def test_the_accesses_were_checked_against_this_optuna() -> None:
    assert optuna.__version__ == private.CHECKED, (
        f"Optuna {optuna.__version__}: read genesynth/storage/optuna_private.py against its "
        f"source (checked against {private.CHECKED}), run these tests, then update CHECKED")


def test_each_access_works(tmp_path: Path) -> None:
    log = tmp_path / "study.log"
    study = optuna.create_study(storage=JournalStorage(JournalFileBackend(str(log))))
    trial = study.ask()
    storage = private.storage_of(study)
    assert isinstance(storage, optuna.storages.BaseStorage)
    storage.set_trial_user_attr(private.trial_id(trial), "state", "skipped")
    study.tell(trial, 1.0)
    (frozen,) = study.get_trials()
    assert frozen.user_attrs == {"state": "skipped"}
    assert storage.get_trial(private.trial_id(frozen)).number == frozen.number == trial.number
    codes = {json.loads(line)["op_code"] for line in log.read_text().splitlines()}
    assert codes and codes <= private.journal_operations()
    assert isinstance(private.backend_of(storage), JournalFileBackend)
    database = optuna.create_study(storage=f"sqlite:///{tmp_path / 'study.db'}")
    assert isinstance(private.backend_of(private.storage_of(database)), RDBStorage)
    memory = optuna.create_study()
    assert private.backend_of(private.storage_of(memory)) is private.storage_of(memory)
    with private.journal_lock(JournalFileSymlinkLock(str(log))):
        assert Path(f"{log}.lock").exists()
    assert not Path(f"{log}.lock").exists()


def _private_uses(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        module = (node.module or "") if isinstance(node, ast.ImportFrom) else ""
        if module.startswith("optuna") and any(p.startswith("_") for p in module.split(".")):
            found.append(f"line {node.lineno}: from {module}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
              and node.func.id in ("getattr", "hasattr", "setattr") and len(node.args) > 1
              and isinstance(node.args[1], ast.Constant) and node.args[1].value in PRIVATE):
            found.append(f"line {node.lineno}: {node.func.id} {node.args[1].value}")
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE and not (
                isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
            found.append(f"line {node.lineno}: .{node.attr}")
    return found


def test_no_other_module_touches_optunas_private_names() -> None:
    found = [f"{path.relative_to(ROOT)} {hit}" for path in sorted(ROOT.rglob("*.py"))
             if path.name != "optuna_private.py"
             for hit in _private_uses(path.read_text(encoding="utf-8"))]
    assert found == []


def test_the_check_sees_both_kinds_of_access() -> None:
    source = ("from optuna.storages.journal._file import get_lock_file\n"
              "study._storage.set_trial_user_attr(trial._trial_id, 'a', 1)\nself._storage = 1\n"
              "backend = getattr(storage, '_backend', storage)\n")
    assert sorted(_private_uses(source)) == [
        "line 1: from optuna.storages.journal._file", "line 2: ._storage", "line 2: ._trial_id",
        "line 4: getattr _backend"]
