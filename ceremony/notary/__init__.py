"""Notary v1 / Docker Content Trust: everything of this trust system in one package.

- `format/`      the metadata model, Go-exact bytes, key IDs, verification, signing;
- `ceremonies/`  the Notary ceremonies and their engine (`runner.perform`), run inside the
                 common session frame (ceremony/ceremonies/session.py);
- `cli/`         the Notary commands (registered in ceremony/cli/__init__.py);
- `pins.py`      what a verifier pins; `online.py` the online side (never imported offline).
"""
