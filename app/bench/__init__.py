"""Benchmarks: `plinth bench NAME` prints one JSON object per figure. Each module here defines a
`run(...)` with defaults sized for these machines; `plinth bench all` runs every one of them."""
