"""Run: the one orchestration layer (`flow`, the only Prefect import), run bookkeeping, the run lock, history.

Importing this package imports nothing heavy: `pledgeflow.run.flow` is imported only to run the flow.
"""
