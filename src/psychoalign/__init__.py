"""psychoalign."""
