"""card stage."""
