"""Email front end (SMTP/IMAP inbound, replies)."""
