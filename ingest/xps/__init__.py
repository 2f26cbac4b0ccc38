"""XPS readers: VAMAS, PHI MultiPak .spe, Scienta SES text, SPECS Prodigy .xy."""
