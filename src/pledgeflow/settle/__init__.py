"""Settle: combine a run's deliveries, apply the stewards' decisions and the cross-dataset checks, enforce thresholds."""

from pledgeflow.settle.records import Settled, settle_records
from pledgeflow.settle.thresholds import enforce_thresholds

__all__ = ["Settled", "enforce_thresholds", "settle_records"]
