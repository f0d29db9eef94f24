"""Attendance device hub: one store for every terminal's punches."""

__version__ = "0.1.0"
