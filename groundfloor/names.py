"""GUNs and role names as this tool accepts them, and how they map to file paths.

Both arrive from untrusted places (a request bundle, a command line) and end up in file paths
and URLs, so they are checked strictly here, in one place:
- a GUN is lowercase ASCII, at most 255 characters, `/`-separated components of `[a-z0-9._-]`
  starting and ending with a letter or digit; the first component may carry a `:port`. That is
  the Docker repository-name grammar (which Docker Content Trust uses as the GUN) minus
  uppercase host names: refusing uppercase keeps two GUNs from sharing a folder on a
  case-insensitive file system. No `..`, no empty component, no leading `/`, no unicode.
- a role is `root`, `targets`, `snapshot`, `timestamp` or a delegation `targets/NAME[/...]`
  matching Notary's `^[-a-z0-9_/]+$`, under 256 characters and path-clean.
"""

from __future__ import annotations

import re

GUN_MAX_LENGTH = 255
ROLE_MAX_LENGTH = 255
BASE_ROLES = ("root", "targets", "snapshot", "timestamp")

_HOST_COMPONENT = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?(?::[0-9]{1,5})?")
_PATH_COMPONENT = re.compile(r"[a-z0-9](?:[a-z0-9._-]*[a-z0-9])?")
_DELEGATION_COMPONENT = re.compile(r"[-a-z0-9_]+")


class InvalidName(ValueError):
    """A GUN or role name this tool refuses; the message says why (callers wrap it)."""


def _shown(name: object) -> str:
    # ascii() makes control characters, bidi overrides and look-alike letters visible
    # (repr() shows printable non-ASCII letters as they are: 'е' for 'e').
    text = ascii(name)
    return text if len(text) <= 80 else text[:77] + "..."


def validate_gun(gun: object) -> str:
    """Return `gun` if it is an acceptable GUN, else raise InvalidName saying why."""
    if not isinstance(gun, str):
        raise InvalidName(f"GUN must be a string, got {type(gun).__name__}")
    if not gun:
        raise InvalidName("GUN is empty")
    if not gun.isascii():
        raise InvalidName(f"GUN {_shown(gun)} contains non-ASCII characters")
    if len(gun) > GUN_MAX_LENGTH:
        raise InvalidName(f"GUN is {len(gun)} characters long (at most {GUN_MAX_LENGTH})")
    if gun != gun.lower():
        raise InvalidName(f"GUN {_shown(gun)} must be lowercase")
    if "://" in gun:  # a URL pasted where the repository name goes
        raise InvalidName(f"GUN {_shown(gun)} is a URL: give the repository name without a "
                          "scheme, e.g. docker.io/library/app (the server URL goes to --server)")
    if gun.startswith("/") or gun.endswith("/") or "//" in gun:
        raise InvalidName(f"GUN {_shown(gun)} has an empty path component")
    parts = gun.split("/")
    if any(p in (".", "..") for p in parts):
        raise InvalidName(f"GUN {_shown(gun)} contains a '.' or '..' component")
    if not _HOST_COMPONENT.fullmatch(parts[0]):
        raise InvalidName(f"GUN {_shown(gun)}: invalid first component {_shown(parts[0])}")
    for part in parts[1:]:
        if not _PATH_COMPONENT.fullmatch(part):
            raise InvalidName(f"GUN {_shown(gun)}: invalid component {_shown(part)}")
    return gun


def validate_role(role: object) -> str:
    """Return `role` if it is a base role or a well-formed delegation name."""
    if not isinstance(role, str):
        raise InvalidName(f"role name must be a string, got {type(role).__name__}")
    if role in BASE_ROLES:
        return role
    if not role.startswith("targets/"):
        raise InvalidName(f"unknown role {_shown(role)} (not root, targets, snapshot, "
                          "timestamp or targets/...)")
    if len(role) > ROLE_MAX_LENGTH:
        raise InvalidName(f"role name is {len(role)} characters long (at most "
                          f"{ROLE_MAX_LENGTH})")
    parts = role.split("/")[1:]
    if any(not _DELEGATION_COMPONENT.fullmatch(p) for p in parts):
        raise InvalidName(f"delegation name {_shown(role)} is not of the form targets/NAME "
                          "with [-a-z0-9_] components")
    return role


def gun_dirname(gun: str) -> str:
    """The single path component holding a GUN's files: '/' becomes '+'.

    Injective because '+' is never part of a valid GUN, and never '.' or '..'.
    """
    return validate_gun(gun).replace("/", "+")


def gun_from_dirname(name: str) -> str:
    """Inverse of gun_dirname (validated)."""
    return validate_gun(name.replace("+", "/"))


def role_relpath(role: str) -> str:
    """Relative file path for a role's metadata: `targets/releases` -> `targets/releases.json`.

    Mirrors the notary client's own metadata folder; a role and its sub-delegations never
    collide (`targets/a.json` next to the folder `targets/a/`).
    """
    return validate_role(role) + ".json"
