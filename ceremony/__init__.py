"""Offline key ceremonies for Notary v1 / Docker Content Trust repositories."""

__version__ = "0.1.0"
