"""battkg core."""
