"""Canonical, wire-format-free types shared by every part of PlugAI."""
