"""``genesynth export``: write a family member as standalone PyTorch, ONNX, JSON or text."""

from __future__ import annotations

import argparse
from pathlib import Path

from genesynth.export.formats import EXPORTERS


def add(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "export", help="export a family member (standalone PyTorch, ONNX, JSON, text)",
        description="Export one member of a run's family: standalone PyTorch source with its "
        "weights (needs only torch), ONNX (needs genesynth[onnx]), JSON or prototype text.",
    )
    p.add_argument("run_dir", metavar="DIR", type=Path, help="run directory")
    p.add_argument("--member", default="A", help="family member label (default A)")
    p.add_argument(
        "--format", dest="fmt", choices=list(EXPORTERS), default="pytorch",
        help="; ".join(f"{name}: {e.summary}" for name, e in EXPORTERS.items())
        + " (default pytorch)",
    )
    p.add_argument(
        "--out", type=Path,
        help="output file or existing directory (default DIR/family/MEMBER/model."
        + "|".join(e.suffix.lstrip(".") for e in EXPORTERS.values()) + ")",
    )
    p.add_argument(
        "--quantize", choices=sorted({q for e in EXPORTERS.values() for q in e.quantize}),
        help="with --format onnx: also write an int8 model (MODEL.int8.onnx), post-training "
        "static quantization calibrated on the run's training images; both are measured on "
        "its test split",
    )
    p.add_argument("--force", action="store_true", help="overwrite files that exist")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from genesynth.export.exporters import export_member, export_quantized

    if args.quantize:
        if args.quantize not in EXPORTERS[args.fmt].quantize:
            from genesynth.errors import ExportError

            offer = [name for name, e in EXPORTERS.items() if args.quantize in e.quantize]
            raise ExportError(f"--quantize {args.quantize} needs --format {' or '.join(offer)}, "
                              f"but got --format {args.fmt}")
        files, q = export_quantized(args.run_dir, args.member, args.quantize, args.out,
                                    args.force)
        for path in files:
            print(f"wrote {path}")
        print(f"test top-1: float {q.float_accuracy:.2f}%, int8 {q.accuracy:.2f}% "
              f"({q.accuracy - q.float_accuracy:+.2f} points); size: float "
              f"{q.float_bytes / 1024:,.1f} KiB, int8 {q.bytes / 1024:,.1f} KiB "
              f"({q.float_bytes / max(1, q.bytes):.1f}x smaller); weights: float "
              f"{q.float_weight_bytes / 1024:,.1f} KiB, int8 {q.weight_bytes / 1024:,.1f} KiB "
              f"({q.float_weight_bytes / max(1, q.weight_bytes):.1f}x smaller)")
        return 0
    written = export_member(args.run_dir, args.member, args.fmt, args.out, args.force)
    for path in written:
        print(f"wrote {path}")
    if EXPORTERS[args.fmt].usage:
        print(EXPORTERS[args.fmt].usage.format(file=written[0]))
    return 0
