"""Storage for a run that one process owns: search in memory, keep each finished trial.

Optuna writes to its storage at every ``suggest_*`` call; on SQLite that is a transaction
per choice, about a hundred per AttoNet candidate, which made an analytically rejected
candidate cost most of a second. :class:`LocalStorage` keeps the running study in memory and
writes each trial to the durable backend once, when it finishes, in one transaction. Study
attributes are written through at once. Opening it loads the finished trials back, so a run
resumes with everything it had finished; a killed process loses only the trial it was
running, which never reached the backend.

Not for studies that several processes share: they must see each other's running trials
(see :mod:`genesynth.storage`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from optuna.exceptions import DuplicatedStudyError
from optuna.storages import BaseStorage, InMemoryStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial, TrialState


class LocalStorage(InMemoryStorage):
    """In-memory Optuna storage whose finished trials are persisted to ``backend``."""

    def __init__(self, backend: BaseStorage, study_name: str,
                 directions: Sequence[StudyDirection]) -> None:
        super().__init__()
        self.backend = backend
        self._backend_study: dict[int, int] = {}  # in-memory study id -> backend study id
        self._study_of: dict[int, int] = {}  # trial id -> in-memory study id
        self._load(study_name, directions)

    def _load(self, name: str, directions: Sequence[StudyDirection]) -> None:
        try:
            backend_id = self.backend.create_new_study(list(directions), name)
        except DuplicatedStudyError:
            backend_id = self.backend.get_study_id_from_name(name)
            directions = self.backend.get_study_directions(backend_id)
        study_id = super().create_new_study(list(directions), name)
        self._backend_study[study_id] = backend_id
        for key, value in self.backend.get_study_user_attrs(backend_id).items():
            super().set_study_user_attr(study_id, key, value)
        for key, value in self.backend.get_study_system_attrs(backend_id).items():
            super().set_study_system_attr(study_id, key, value)
        for trial in self.backend.get_all_trials(backend_id, deepcopy=False):
            if trial.state.is_finished():
                self.create_new_trial(study_id, template_trial=trial)

    def create_new_study(self, directions: Sequence[StudyDirection],
                         study_name: str | None = None) -> int:
        """The study exists from the start; ``create_study(load_if_exists=True)`` loads it."""
        raise DuplicatedStudyError(f"the study '{study_name}' is opened with the storage")

    def create_new_trial(self, study_id: int, template_trial: FrozenTrial | None = None) -> int:
        trial_id = super().create_new_trial(study_id, template_trial)
        self._study_of[trial_id] = study_id
        return trial_id

    def set_study_user_attr(self, study_id: int, key: str, value: Any) -> None:
        super().set_study_user_attr(study_id, key, value)
        self.backend.set_study_user_attr(self._backend_study[study_id], key, value)

    def set_study_system_attr(self, study_id: int, key: str, value: Any) -> None:
        super().set_study_system_attr(study_id, key, value)
        self.backend.set_study_system_attr(self._backend_study[study_id], key, value)

    def set_trial_state_values(self, trial_id: int, state: TrialState,
                               values: Sequence[float] | None = None) -> bool:
        changed = super().set_trial_state_values(trial_id, state, values)
        if changed and state.is_finished():
            backend_study = self._backend_study[self._study_of[trial_id]]
            self.backend.create_new_trial(backend_study, template_trial=self.get_trial(trial_id))
        return changed
