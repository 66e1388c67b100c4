"""`ceremony renew`: thin, like the other ceremony commands (see ceremony/ceremonies/renew.py
and docs/ceremonies.md)."""

from __future__ import annotations

from ceremony.ceremonies.renew import PARAMS
from ceremony.cli.common import ceremony_command

renew = ceremony_command(PARAMS, """Renew root.json or targets.json of GUN(s): new version
    and expiry; root certificates near expiry re-issued on their tokens.""")
