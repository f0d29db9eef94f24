"""The punch store: SQLAlchemy models, engine set-up and bulk ingest."""
