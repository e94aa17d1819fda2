"""Slack front end (events, commands, interactivity)."""
