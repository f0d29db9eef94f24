"""ZKTeco ADMS / iclock push receiver (FastAPI router and standalone app)."""
