"""Steward: the decisions ledger (read, appended), decisions applied with their lineage, and the review pack."""
