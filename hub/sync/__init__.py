"""Device sync: the roster, fingerprints and faces carried to each terminal, and read back."""
