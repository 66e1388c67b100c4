"""Helpers of the notation commands (cli.py and sign_cli.py): the air-gap check, tokens,
bounded reads of certificates."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography import x509

from ceremony.airgap import check_offline
from ceremony.cli.common import warn
from ceremony.notation.errors import NotationError
from ceremony.publicpem import read_public_pem


def offline(allow_network: bool) -> None:
    check_offline(allow_network, warn)


@contextmanager
def pool(module: str | None, pin_source: str | None) -> Iterator[Any]:
    from hsm.session import TokenPool
    with TokenPool(module=module, pin_source=pin_source, on_warning=warn) as opened:
        yield opened


def token_key(pool: Any, token: str, label: str) -> Any:
    from ceremony.notation.keyspec import TokenKey
    return TokenKey(pool.open(token).signer(label))


def read(path: str, what: str) -> bytes:
    return read_public_pem(path, what, wanted=f"the {what.removesuffix(' file')}",
                           error=NotationError)


def load_certs(path: str) -> list[x509.Certificate]:
    data = read(path, "certificate file")
    try:
        return (x509.load_pem_x509_certificates(data) if b"-----BEGIN" in data
                else [x509.load_der_x509_certificate(data)])
    except ValueError:
        raise NotationError(f"{path} holds no PEM or DER certificate") from None
