"""Latency: measured here (measure), or predicted on the target from a table of its ops.

ops and modules name the ops a network runs as a runtime runs them; table predicts a network's
latency from a table of per-op times; kit exports every distinct op of a bounded space with a
runner (runner, which needs only NumPy and ONNX Runtime) for the target; profile fills a table
here. See docs/latency.md. The kit enumerates a search space, so this package sits above
space/ and below the evaluators and the engine.
"""
