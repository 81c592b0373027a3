"""Scheduling: timetables (pure) and the scheduler the coordinator runs."""
