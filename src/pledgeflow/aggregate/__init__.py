"""Aggregate: indicators per pledge, sub-project, indicator and period, and what quarantine holds back."""

from pledgeflow.aggregate.indicators import build_holdbacks, build_indicators, count_indicators

__all__ = ["build_holdbacks", "build_indicators", "count_indicators"]
