"""The `hub` command line (Typer + Rich)."""
