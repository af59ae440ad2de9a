"""Fixtures for the Teams server tests; the harness itself is in teams_harness.py."""

from teams_harness import teams, teams_new_ward  # noqa: F401 - pytest finds fixtures by name here
