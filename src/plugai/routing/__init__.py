"""Model id → deployments: aliases, balancing, retries, fallbacks and credentials."""
