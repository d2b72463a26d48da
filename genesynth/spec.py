"""The records an architecture is made of: a layer (:class:`LayerSpec`) and a module
(:class:`ModuleSpec`), each with every setting fixed.

They sit at the bottom of the package: the layer registry (:mod:`genesynth.blocks`) reads
them, and :mod:`genesynth.net.arch` assembles them into an
:class:`~genesynth.net.arch.Architecture`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Value = int | float | bool | str
"""A concrete setting of a layer: an integer, a float, a boolean or a name."""



@dataclass(frozen=True)
class LayerSpec:
    """One layer: a registered kind and its concrete settings, sorted by name.

    ``origin`` says where in the prototype the layer came from (its choice path, e.g.
    ``m03.4.0.1``), so that a supernet gives the same weights to the same prototype layer in
    every sample. It is not part of the identity and not in the JSON form: empty when read back.
    """

    kind: str
    params: tuple[tuple[str, Value], ...] = ()
    origin: str = field(default="", compare=False, repr=False)

    @staticmethod
    def of(kind: str, **params: Value) -> LayerSpec:
        return LayerSpec(kind, tuple(sorted(params.items())))

    def get(self, name: str, default: Value | None = None) -> Value | None:
        for key, value in self.params:
            if key == name:
                return value
        return default

    def __getitem__(self, name: str) -> Value:
        value = self.get(name)
        if value is None:
            raise KeyError(name)
        return value

    def as_dict(self) -> dict[str, Value]:
        return dict(self.params)


@dataclass(frozen=True)
class ModuleSpec:
    """One module of the network body.

    ``kind`` is ``seq`` (layers in order), ``residual`` (``branches[0]`` plus a shortcut that
    is ``identity``, a 1x1 ``project``\\ ion, or ``none``) or ``split`` (two branches whose
    outputs are concatenated; when ``branches[0]`` is empty the input channels are split in
    halves, the first half passing through unchanged). ``post`` layers follow the merge
    (e.g. ``relu`` after the residual add, ``shuffle`` after the concat). ``label`` names the
    template the module came from (``skip`` for a skipped slot).
    """

    label: str
    kind: str
    branches: tuple[tuple[LayerSpec, ...], ...]
    shortcut: str = "none"
    post: tuple[LayerSpec, ...] = ()
    origin: str = field(default="", compare=False, repr=False)  # the slot's path, e.g. m03.o1

    @property
    def layers(self) -> tuple[LayerSpec, ...]:
        """All layers in order: branches, then post."""
        return tuple(layer for branch in self.branches for layer in branch) + self.post

    @property
    def is_empty(self) -> bool:
        """True for a skipped module that does nothing (identity)."""
        return not self.layers and self.shortcut == "none"
