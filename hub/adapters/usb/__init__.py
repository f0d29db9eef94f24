"""USB fallback: attendance files from a terminal's stick, and CSV exports."""
