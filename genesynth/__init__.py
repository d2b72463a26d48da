"""genesynth: human-machine design of efficient CNNs by generative synthesis.

A person writes a prototype (the network-level macro-architecture and, per module, the space
of choices); an Optuna-driven generator synthesizes the modules under a constraint and returns
a family of networks of decreasing complexity::

    import genesynth

    proto = genesynth.load_prototype("prototypes/attonet16.gs")
    arch = proto.sample(seed=0)                 # every choice fixed
    print(genesynth.cost(arch))                 # analytic params and MACs
    model = genesynth.build(arch)               # a torch.nn.Module
    result = genesynth.synthesize(proto, "constraints/digits.toml", trials=30)

Names are imported on first use, so ``import genesynth`` stays fast and torch is loaded only
by what needs it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_EXPORTS = {
    # prototypes and architectures
    "load_prototype": "genesynth.space", "parse_prototype": "genesynth.space",
    "Prototype": "genesynth.space", "RandomChooser": "genesynth.space",
    "FixedChooser": "genesynth.space", "Chooser": "genesynth.space",
    "ChoiceInfo": "genesynth.space", "CostRange": "genesynth.space",
    "Architecture": "genesynth.net.arch", "LayerSpec": "genesynth.net.arch",
    "ModuleSpec": "genesynth.net.arch", "architecture_to_text": "genesynth.dsl.writer",
    # building and costing
    "build": "genesynth.net.builder", "cost": "genesynth.net.costs",
    "breakdown": "genesynth.net.costs",
    "Cost": "genesynth.net.costs", "measure_latency": "genesynth.latency.measure",
    # constraints, utilities, data, evaluators
    "load_constraint": "genesynth.goal.constraint", "Constraint": "genesynth.goal.constraint",
    "NetScore": "genesynth.goal.utility", "MnasReward": "genesynth.goal.utility",
    "load_data": "genesynth.data", "Dataset": "genesynth.data",
    "Evaluator": "genesynth.evaluate", "Measurement": "genesynth.net.measurement",
    "TrainingEvaluator": "genesynth.evaluate.train", "TrainConfig": "genesynth.evaluate.train",
    "TableEvaluator": "genesynth.evaluate.table",
    # the generator and what it returns
    "synthesize": "genesynth.synth", "SynthesisResult": "genesynth.synth",
    "Member": "genesynth.synth", "RunInterrupted": "genesynth.synth",
    "EmptyFamilyWarning": "genesynth.synth",
    # reports and exports
    "write_report": "genesynth.report.markdown", "export_member": "genesynth.export.exporters",
    "export_architecture": "genesynth.export.exporters",
    "export_quantized": "genesynth.export.exporters",
    # the human-machine loop: refine a member, compare two networks
    "refine": "genesynth.human.refine", "Refinement": "genesynth.human.refine",
    "diff": "genesynth.human.compare",
    # errors
    "GenesynthError": "genesynth.errors", "PrototypeSyntaxError": "genesynth.errors",
    "PrototypeError": "genesynth.errors", "ShapeError": "genesynth.errors",
    "ArchitectureError": "genesynth.errors", "ConstraintError": "genesynth.errors",
    "DataError": "genesynth.errors", "RunError": "genesynth.errors",
    "ExportError": "genesynth.errors",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # real imports for type checkers and editors; lazy at run time
    from genesynth.data import Dataset, load_data
    from genesynth.dsl.writer import architecture_to_text
    from genesynth.errors import (
        ArchitectureError,
        ConstraintError,
        DataError,
        ExportError,
        GenesynthError,
        PrototypeError,
        PrototypeSyntaxError,
        RunError,
        ShapeError,
    )
    from genesynth.evaluate import Evaluator
    from genesynth.evaluate.table import TableEvaluator
    from genesynth.evaluate.train import TrainConfig, TrainingEvaluator
    from genesynth.export.exporters import export_architecture, export_member, export_quantized
    from genesynth.goal.constraint import Constraint, load_constraint
    from genesynth.goal.utility import MnasReward, NetScore
    from genesynth.human.compare import diff
    from genesynth.human.refine import Refinement, refine
    from genesynth.latency.measure import measure_latency
    from genesynth.net.arch import Architecture, LayerSpec, ModuleSpec
    from genesynth.net.builder import build
    from genesynth.net.costs import Cost, breakdown, cost
    from genesynth.net.measurement import Measurement
    from genesynth.report.markdown import write_report
    from genesynth.space import (
        ChoiceInfo,
        Chooser,
        CostRange,
        FixedChooser,
        Prototype,
        RandomChooser,
        load_prototype,
        parse_prototype,
    )
    from genesynth.synth import (
        EmptyFamilyWarning,
        Member,
        RunInterrupted,
        SynthesisResult,
        synthesize,
    )


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'genesynth' has no attribute '{name}'")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
