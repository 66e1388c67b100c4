"""`ceremony rotate root`: thin, like the other ceremony commands (see
ceremony/ceremonies/rootrotate.py and docs/ceremonies.md). Registered in the `rotate` group by
ceremony/cli/ceremonies.py."""

from __future__ import annotations

from ceremony.ceremonies.rootrotate import PARAMS
from ceremony.cli.common import ceremony_command

rotate_root = ceremony_command(PARAMS, """Add, replace or remove root keys of GUN(s) and change
    the root threshold: root v+1 signed by the old root's threshold AND its own.""", "root")
