"""One module per API resource, each with a sync and an async class."""
