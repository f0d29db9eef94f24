"""The scheduler: APScheduler jobs kept in the database, one active scheduler per fleet."""
