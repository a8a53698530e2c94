"""Prefect flows for pledgeflow (orchestration only)."""
