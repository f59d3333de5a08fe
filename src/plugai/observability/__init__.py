"""Structured logs with redaction, Prometheus metrics, request ids."""
