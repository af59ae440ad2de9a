"""Fixtures for the Slack server tests; the harness itself is in slack_harness.py."""

from slack_harness import fake_slack, slack, slack_new_ward  # noqa: F401 - pytest finds fixtures by name here
