"""PlugAI: one OpenAI-compatible gateway for text, image and 3D generation."""

__version__ = "0.1.0"
