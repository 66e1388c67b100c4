"""Helpers of the notation commands (cli.py, ca_cli.py, ca_dir.py, sign_cli.py, verify_cli.py):
the session frame's options, the air-gap check, tokens, bounded reads of certificates, CSRs,
CRLs and descriptors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from cryptography import x509

from ceremony.airgap import check_offline
from ceremony.cli.common import json_option, options, signing_options, warn, workspace_option
from ceremony.notation.errors import NotationError
from ceremony.notation.payload import Descriptor
from ceremony.notation.strict import parse_utf8
from ceremony.publicpem import read_public_pem

# What every notation ceremony command takes: the session frame's options.
frame_options = options(workspace_option, signing_options, json_option)


def session_options(kw: dict[str, Any], out: str | None = None,
                    request: str | None = None) -> Any:
    """The session frame's Options from a command's frame_options (and its --out, --request)."""
    from ceremony.ceremonies.session import Options
    return Options(out=out or "", request=request or "", workspace=kw["workspace"],
                   force=kw["force"], yes=kw["yes"], participants=kw["participants"],
                   allow_network=kw["allow_network"], pin_sources=kw["pin_sources"],
                   module=kw["module"])


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


def load_csr(path: str) -> x509.CertificateSigningRequest:
    raw = read(path, "CSR")
    try:
        return (x509.load_pem_x509_csr(raw) if b"-----BEGIN" in raw
                else x509.load_der_x509_csr(raw))
    except ValueError:
        raise NotationError(f"{path} is not a PKCS#10 CSR (PEM or DER)") from None


def load_crls(paths: tuple[str, ...]) -> list[x509.CertificateRevocationList]:
    crls = []
    for path in paths:
        raw = read(path, "CRL")
        try:
            crls.append(x509.load_pem_x509_crl(raw) if b"-----BEGIN" in raw
                        else x509.load_der_x509_crl(raw))
        except ValueError:
            raise NotationError(f"{path} is not a CRL (PEM or DER)") from None
    return crls


def load_descriptor(path: str) -> Descriptor:
    """An artifact's OCI descriptor (JSON, UTF-8: any tool may have written it), read
    strictly."""
    return Descriptor.from_dict(parse_utf8(read(path, "descriptor"), path, NotationError), path)
