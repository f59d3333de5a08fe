"""Pydantic models of the wire formats (OpenAI, Anthropic, PlugAI's own extensions)."""
