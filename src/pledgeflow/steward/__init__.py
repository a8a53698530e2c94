"""steward stage."""
