"""Provider adapters: one module per upstream wire format, registered by name."""
