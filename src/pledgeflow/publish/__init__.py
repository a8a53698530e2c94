"""Publish: write a version of the curated tables, audit it, and switch `current` to it atomically."""

from pledgeflow.publish.manifest import build_manifest, read_manifest, write_manifest
from pledgeflow.publish.version import PublishResult, current_version, publish_version, read_current

__all__ = ["PublishResult", "build_manifest", "current_version", "publish_version", "read_current", "read_manifest",
           "write_manifest"]
