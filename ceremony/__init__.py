"""Offline key ceremonies for Notary v1 / Docker Content Trust repositories."""

from groundfloor.version import __version__

__all__ = ["__version__"]
