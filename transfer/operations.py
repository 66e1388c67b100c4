"""What a request bundle can ask for, and the offline command that answers it: the one list
(`online fetch --operation`, the ceremony-script action `online-fetch`, the docs)."""

from __future__ import annotations

OPERATIONS = {
    "init": "ceremony init (the default for a repository the server does not have)",
    "signer-add": "ceremony signer add",
    "signer-remove": "ceremony signer remove",
    "delegation-add": "ceremony delegation add",
    "delegation-remove": "ceremony delegation remove",
    "rotate-targets": "ceremony rotate targets",
    "rotate-root": "ceremony rotate root",
    "renew": "ceremony renew",
    "pin": "ceremony pin (a second site comes to trust the repository)",
    "adopt": "ceremony adopt / adopt import (a docker trust / notary repository onto tokens)",
}
# The operations a ceremony answers (`pin` changes no signed file: it only reads a request).
CEREMONY_OPERATIONS = tuple(name for name in OPERATIONS if name != "pin")
