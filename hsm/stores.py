"""Where PKCS#11 modules keep their tokens on this machine: state an output must never land in.

An output written with `--force` into a module's token store could replace a token's objects
(SoftHSM keeps each token as a folder of object files). The ceremony layer refuses outputs
inside these folders as it refuses outputs inside its workspace.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited

MAX_CONF_BYTES = 64 * 1024  # a SoftHSM configuration file is a few lines
_TOKENDIR = re.compile(r"^\s*directories\.tokendir\s*=\s*(.+?)\s*$", re.M)
OPENCRYPTOKI_STORE = "/var/lib/opencryptoki"


def softhsm_token_dir() -> str | None:
    """The token directory SoftHSM uses here ($SOFTHSM2_CONF or its default configuration)."""
    conf = os.environ.get("SOFTHSM2_CONF") or "/etc/softhsm/softhsm2.conf"
    try:
        text = read_limited(conf, MAX_CONF_BYTES, what="SoftHSM configuration")
    except (GroundFloorError, OSError):
        return None
    found = _TOKENDIR.search(text.decode("utf-8", errors="replace"))
    return found.group(1) if found else None


def token_store_folders() -> dict[str, str]:
    """name -> folder of every token store known here (SoftHSM, tpm2-pkcs11, openCryptoki)."""
    stores: dict[str, str] = {}
    softhsm = softhsm_token_dir()
    if softhsm:
        stores["SoftHSM token store"] = softhsm
    tpm = os.environ.get("TPM2_PKCS11_STORE")
    if tpm:
        stores["tpm2-pkcs11 token store"] = tpm
    if Path(OPENCRYPTOKI_STORE).is_dir():
        stores["openCryptoki token store"] = OPENCRYPTOKI_STORE
    return stores
