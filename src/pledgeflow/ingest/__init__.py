"""Ingest: find the deliveries, read each one as text, validate it, and cache its result.

One delivery file is the unit of work: every row ends valid or quarantined, with its file and row number.
"""

from pledgeflow.ingest.cache import ingest_cached, load_unchanged
from pledgeflow.ingest.deliver import DeliveryResult, combine_results, process_delivery
from pledgeflow.ingest.discover import discover_deliveries, discover_skipped
from pledgeflow.ingest.read import read_delivery

__all__ = ["DeliveryResult", "combine_results", "discover_deliveries", "discover_skipped", "ingest_cached", "load_unchanged",
           "process_delivery", "read_delivery"]
