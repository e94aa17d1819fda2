"""Front ends that turn Slack and email traffic into channel-neutral inbound messages."""
