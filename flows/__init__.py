"""Prefect flows wrapping the stages."""
