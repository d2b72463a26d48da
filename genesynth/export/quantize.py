"""int8 ONNX: post-training static quantization of an exported member, and its top-1.

The float ONNX file (:mod:`genesynth.export.exporters`) is quantized by ONNX Runtime's static
quantizer (``onnxruntime.quantization.quantize_static``) in the QDQ format: weights as signed 8-bit
integers per output channel, activations as unsigned 8-bit integers per tensor, their ranges
calibrated (min-max) on images of the run's training split, given in the data's own units as
the exported file takes them. Why ONNX Runtime's quantizer and not PyTorch's: the result is
the file a phone or an edge runtime loads (ONNX Runtime, TensorRT and TFLite/ONNX converters
read QDQ), it needs nothing beyond the ``onnx`` extra the float export already uses, and
PyTorch's own post-training paths either stay inside PyTorch (eager ``torch.ao`` quantization,
now deprecated for torchao/PT2E) or need a backend quantizer shipped elsewhere (PT2E's XNNPACK
quantizer lives in ExecuTorch).

Both files are then run by ONNX Runtime on the test split, so the int8 and float top-1 are
measured the same way; they are written into the int8 file's metadata and returned.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from genesynth.errors import ExportError

QUANTIZE_KINDS = ("int8",)
CALIBRATION_IMAGES = 256
BATCH = 256


@dataclass(frozen=True)
class Quantized:
    """An int8 export and what it was measured at."""

    file: str
    bytes: int
    float_file: str
    float_bytes: int
    accuracy: float  # int8 test top-1, percent (ONNX Runtime)
    float_accuracy: float  # the float file's test top-1, measured the same way
    calibration_images: int
    weight_bytes: int = 0  # the int8 file's initializers (weights, scales, biases): flash
    float_weight_bytes: int = 0  # the float file's
    scheme: str = "onnxruntime static QDQ: int8 weights per channel, uint8 activations, min-max"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def lost(self) -> float:
        """Points of top-1 the int8 file loses against the float one."""
        return self.float_accuracy - self.accuracy


def check_kind(kind: str) -> None:
    if kind not in QUANTIZE_KINDS:
        raise ExportError(f"`quantize` must be one of {', '.join(QUANTIZE_KINDS)}, but got "
                          f"quantize={kind!r}")


def calibration_images(x: np.ndarray, count: int = CALIBRATION_IMAGES, seed: int = 0
                       ) -> np.ndarray:
    """``count`` images of ``x`` (a seeded choice, the same every time), float32."""
    order = np.random.default_rng(seed).permutation(len(x))[: min(count, len(x))]
    return np.ascontiguousarray(x[np.sort(order)], dtype=np.float32)


def quantize_onnx(float_path: Path, out: Path, calibration: np.ndarray) -> Path:
    """Write the int8 version of ``float_path`` to ``out``, calibrated on ``calibration``
    (N, C, H, W, in the units the float file takes)."""
    try:
        from onnxruntime.quantization import (
            CalibrationDataReader,
            CalibrationMethod,
            QuantFormat,
            QuantType,
            quantize_static,
        )
    except ImportError:
        raise ExportError("int8 export needs onnxruntime: pip install 'genesynth[onnx]'") from None

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches: Iterator[np.ndarray] = iter(
                calibration[i:i + 32] for i in range(0, len(calibration), 32))

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(self.batches, None)
            return None if batch is None else {"input": batch}

    from onnxruntime.quantization.shape_inference import quant_pre_process

    prepared = out.with_name(f".{out.name}.{os.getpid()}.pre")
    partial = out.with_name(f".{out.name}.{os.getpid()}")
    try:
        quant_pre_process(str(float_path), str(prepared))  # shapes, then ORT's graph fusions
        quantize_static(
            str(prepared), str(partial), Reader(), quant_format=QuantFormat.QDQ,
            per_channel=True, activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
        )
        os.replace(partial, out)
    finally:
        for leftover in (prepared, partial):
            leftover.unlink(missing_ok=True)
    return out


def onnx_top1(path: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Top-1 in percent of the ONNX file at ``path`` on (x, y), by ONNX Runtime on the CPU."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(path), options,
                                           providers=["CPUExecutionProvider"])
    correct = 0
    for i in range(0, len(x), BATCH):
        batch = np.ascontiguousarray(x[i:i + BATCH], dtype=np.float32)
        (scores,) = session.run(None, {"input": batch})
        correct += int((np.asarray(scores).argmax(1) == y[i:i + BATCH]).sum())
    return 100.0 * correct / max(1, len(y))


def write_metadata(path: Path, values: dict[str, str]) -> None:
    """Add ``values`` to the ONNX file's metadata (``metadata_props``), in place."""
    import onnx

    model = onnx.load(str(path))
    for key, value in values.items():
        entry = next((p for p in model.metadata_props if p.key == key), None)
        if entry is None:
            entry = model.metadata_props.add()
            entry.key = key
        entry.value = value
    partial = path.with_name(f".{path.name}.{os.getpid()}")
    onnx.save(model, str(partial))
    os.replace(partial, path)


def quantize_member(float_path: Path, out: Path, train_x: np.ndarray, test_x: np.ndarray,
                    test_y: np.ndarray, seed: int = 0,
                    count: int = CALIBRATION_IMAGES) -> Quantized:
    """Quantize an exported float member, measure both files on the test split (images in the
    units the files take) and write the two top-1 figures into the int8 file's metadata."""
    calibration = calibration_images(train_x, count, seed)
    quantize_onnx(float_path, out, calibration)
    top_float = onnx_top1(float_path, test_x, test_y)
    top_int8 = onnx_top1(out, test_x, test_y)
    result = Quantized(str(out), 0, str(float_path), float_path.stat().st_size, top_int8,
                       top_float, len(calibration))
    write_metadata(out, {"genesynth.quantized": result.scheme,
                         "genesynth.test_top1_float": f"{top_float:.4f}",
                         "genesynth.test_top1_int8": f"{top_int8:.4f}",
                         "genesynth.calibration_images": str(len(calibration))})
    return Quantized(str(out), out.stat().st_size, str(float_path), result.float_bytes,
                     top_int8, top_float, len(calibration), initializer_bytes(out),
                     initializer_bytes(float_path))


def initializer_bytes(path: Path) -> int:
    """Bytes of an ONNX file's initializers (its weights; the rest is the graph and names)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    return sum(int(numpy_helper.to_array(t).nbytes) for t in model.graph.initializer)
