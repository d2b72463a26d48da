"""The network: its architecture record, analytic costs, the torch builder, summaries,
latency and the measurement an evaluation returns. Below the language and the search."""
