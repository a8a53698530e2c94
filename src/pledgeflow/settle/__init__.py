"""settle stage."""
