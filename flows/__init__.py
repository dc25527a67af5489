"""Prefect flows that schedule and publish practice weeks."""
