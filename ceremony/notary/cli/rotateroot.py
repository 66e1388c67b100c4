"""`ceremony rotate root`: thin, like the other ceremony commands (see
ceremony/notary/ceremonies/rootrotate.py and docs/ceremonies.md). Registered in the `rotate` group
by ceremony/notary/cli/ceremonies.py."""

from __future__ import annotations

from ceremony.cli.common import ceremony_command
from ceremony.notary.ceremonies.rootrotate import PARAMS

rotate_root = ceremony_command(PARAMS, """Add, replace or remove root keys of GUN(s) and change
    the root threshold: root v+1 signed by the old root's threshold AND its own.""", "root")
