"""The tool's version, written into bundles and transcripts (kept with pyproject.toml)."""

__version__ = "0.1.0"
