"""``lift-dspy bench``: lift-dspy against stock DSPy and a hand-rolled client, on the same model.

Modules: :mod:`~lift_dspy.bench.configs` (the eight configurations), :mod:`~lift_dspy.bench.stock`
(stock-DSPy baselines shared with ``benchmarks/fair_arms.py``), :mod:`~lift_dspy.bench.suite`
(tasks, one sample -> one record), :mod:`~lift_dspy.bench.runner` (servers, resume, progress),
:mod:`~lift_dspy.bench.throughput` (concurrency test), :mod:`~lift_dspy.bench.journal` (the JSONL
journal), :mod:`~lift_dspy.bench.metrics` and :mod:`~lift_dspy.bench.report` (figures, report.md,
plots), :mod:`~lift_dspy.bench.summary` (the committable summary.json),
:mod:`~lift_dspy.bench.cli` (the command line). Importing this package starts nothing.
"""
