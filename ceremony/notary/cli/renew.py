"""`ceremony renew`: thin, like the other ceremony commands (see ceremony/notary/ceremonies/renew.py
and docs/ceremonies.md)."""

from __future__ import annotations

from ceremony.cli.common import ceremony_command
from ceremony.notary.ceremonies.renew import PARAMS

renew = ceremony_command(PARAMS, """Renew root.json or targets.json of GUN(s): new version
    and expiry; root certificates near expiry re-issued on their tokens.""")
