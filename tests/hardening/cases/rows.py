"""What a bad-input row is, and the helpers that rows of every area use."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

GUN = "example.com/hardening/app"
PUBLISH = ("--server", "https://127.0.0.1:9")  # parsing fails first: no connection is made


@dataclass
class Inputs:
    """Good inputs that the cases break, made once (see make_inputs)."""

    request: bytes
    response: bytes
    bundle_for_qr: bytes
    repository: dict[str, bytes]  # file name (roles, N.root.json) -> bytes, validly signed
    bad_repositories: dict[str, dict[str, bytes]]  # validly signed, with something bad inside
    transcript: bytes
    hsm_env: dict[str, str]
    hsm_root: Path
    pin_source: str
    public_pem: bytes = b""  # a good signer key (EC P-256, public)
    private_pem: bytes = b""  # its private half: what must never be accepted


@dataclass(frozen=True)
class Invocation:
    args: tuple[str, ...]
    stdin: bytes = b""
    hsm: bool = False  # needs the SoftHSM environment
    wrapper: tuple[str, ...] = ()  # a command prefix (AIRGAPPED for the ceremonies)
    # A ceremony that refuses its --request has already started its transcript: the one
    # change allowed is that transcript (in this workspace), which must record the refusal
    # and verify (see run.py).
    transcript_in: Path | None = None


@dataclass(frozen=True)
class Case:
    id: str
    kind: str
    make: Callable[[Inputs, Path], Invocation] = field(repr=False)
    expect: str | tuple[str, ...]  # the error line contains this (or one of these)

    def __str__(self) -> str:
        return self.id


def write(work: Path, name: str, data: bytes) -> Path:
    path = work / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def flip(data: bytes, where: float, bit: int = 0) -> bytes:
    out = bytearray(data)
    out[int(len(out) * where)] ^= 1 << bit
    return bytes(out)


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n

