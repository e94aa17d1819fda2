"""Shared conversations Plinth answers in (Slack channels): their settings and members."""
