"""The Notary v1 commands: thin click layers over ceremony/notary/ceremonies (registered by
name in ceremony/cli/__init__.py, loaded only when used)."""
