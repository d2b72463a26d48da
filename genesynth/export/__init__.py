"""Exports: a member or an architecture written as a runnable file.

formats.py is the table of formats (torch-free: the CLI reads it), exporters.py their writers
and ``export_member`` / ``export_architecture``, codegen.py and codegen_text.py the
self-contained PyTorch source, quantize.py int8 ONNX.
"""
