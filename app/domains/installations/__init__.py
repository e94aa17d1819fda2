"""Workspaces that installed the Slack app (multi-workspace OAuth mode), their tokens encrypted at rest."""
