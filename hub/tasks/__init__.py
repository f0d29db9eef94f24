"""Work on a terminal asked by one process of another (hub.tasks.requests)."""
