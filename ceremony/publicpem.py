"""Reading a PEM file that must hold only public material (a public key, a certificate, a CSR).

One reader for every such input: bounded (groundfloor.files.read_limited, MAX_PEM_BYTES) and
refusing a file that holds a private key before anything parses it, so that a private key handed
over by mistake is named as such and goes no further.
"""

from __future__ import annotations

import os

from ceremony.errors import CeremonyError
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_PEM_BYTES


def read_public_pem(path: str | os.PathLike[str], what: str, *, wanted: str,
                    error: type[CeremonyError]) -> bytes:
    """The bytes of `path` (called `what` in messages); `error` when it cannot be read, is too
    large or holds a private key (`wanted` says what to give instead)."""
    try:
        data = read_limited(path, MAX_PEM_BYTES, what=what)
    except GroundFloorError as exc:
        raise error(str(exc)) from None
    if b"PRIVATE KEY" in data:
        raise error(f"{what} {path} holds a PRIVATE key; give {wanted} only (nothing private "
                    "comes near this machine)")
    return data
