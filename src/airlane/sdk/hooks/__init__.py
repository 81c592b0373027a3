"""Hooks: Airflow's ``BaseHook`` for provider and user hooks."""
