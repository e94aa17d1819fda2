"""The Slack front end: a Bolt app (HTTP mode at /slack/events, or Socket Mode), listeners by surface,
Block Kit rendering, identity mapping and the replier."""
