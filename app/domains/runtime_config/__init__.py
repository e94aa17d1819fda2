"""Settings changed at run time (from the console): versioned, audited, with diff and rollback."""
