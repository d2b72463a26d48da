"""The run record: what a run directory and its study hold, written and read in one place.

- :mod:`~genesynth.record.layout`: the file names of a run directory and the study's keys;
- :mod:`~genesynth.record.run`: ``run.json`` (:class:`RunSpec`) and the run-directory rules;
- :mod:`~genesynth.record.trial`: the typed record of one trial (Optuna ``user_attrs``);
- :mod:`~genesynth.record.family`: ``family.json`` and its members;
- :mod:`~genesynth.record.reader`: finding a run and reading it back read-only
  (``state_from_study``: the snapshot of a study);
- :mod:`~genesynth.record.snapshot`: the snapshot of a run that every view reads, made of
  :mod:`~genesynth.record.rows`, with its time left from :mod:`~genesynth.record.eta`.

The engine writes the record and the views read it; nothing here imports a view, and
importing this package loads neither torch nor optuna.
"""
