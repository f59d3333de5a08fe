"""Users, API keys, the secret vault and authorization."""
