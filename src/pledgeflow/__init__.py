"""pledgeflow."""
