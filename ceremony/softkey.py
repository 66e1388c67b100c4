"""Software key files of the Notary and Docker clients (~/.notary/private, ~/.docker/trust/private).

Read only to move a repository onto tokens (`ceremony adopt`): the key signs once, in memory,
and is never written anywhere. Two forms are read, as the clients wrote them:
- current clients (notary >= 0.6, docker): `-----BEGIN ENCRYPTED PRIVATE KEY-----`, PKCS#8
  encrypted with PBES2 (PBKDF2 + AES-CBC), with `role:` and `gun:` header lines inside the PEM
  block. Notary writes the inner PrivateKeyInfo with version 1 and no public key, which
  OpenSSL-based readers refuse; it is read here as the version 0 structure it really is;
- older clients: legacy OpenSSL-encrypted PEM, `-----BEGIN EC PRIVATE KEY-----` (or RSA) with
  `Proc-Type: 4,ENCRYPTED`, `DEK-Info: AES-256-CBC,<IV>` and `role: root` (Go's
  x509.EncryptPEMBlock: key from MD5 EVP_BytesToKey over passphrase and the IV's first 8 bytes).
An unencrypted `PRIVATE KEY` block (a key exported without a passphrase) is read as well.

The passphrase comes from a no-echo prompt, `env:NAME` or `file:PATH` (the PIN-source grammar
of hsm/pin.py), never from argv; it is registered as a secret so no output can carry it.
"""

from __future__ import annotations

import base64
import binascii
import getpass
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

from asn1crypto import keys as asn1_keys
from cryptography.hazmat.primitives import hashes, padding
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.asymmetric import padding as rsa_padding
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes, PublicKeyTypes
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.serialization import load_der_private_key

from ceremony.errors import CeremonyError
from ceremony.secrets import register_secret
from groundfloor.errors import GroundFloorError
from groundfloor.files import read_limited
from groundfloor.limits import MAX_KEY_FILE_BYTES, MAX_PASSPHRASE_FILE_BYTES
from hsm.errors import PinError
from hsm.pin import Pin, parse_pin_source

ENCRYPTED_PKCS8, LEGACY_PEM, PLAIN_PKCS8 = ("encrypted PKCS#8", "legacy OpenSSL-encrypted PEM",
                                            "unencrypted PKCS#8")
_AES = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}
_LEGACY_AES = {"AES-128-CBC": 16, "AES-192-CBC": 24, "AES-256-CBC": 32}


class SoftKeyError(CeremonyError):
    """A key file that cannot be used; the message never holds the passphrase."""


@dataclass(frozen=True)
class KeyFile:
    """A client key file as read, before the passphrase: its form and its header lines."""

    path: str
    block_type: str
    form: str
    role: str
    gun: str
    headers: dict[str, str] = field(repr=False)
    body: bytes = field(repr=False)

    @property
    def encrypted(self) -> bool:
        return self.form != PLAIN_PKCS8

    def describe(self) -> str:
        where = f", gun {self.gun}" if self.gun else ""
        return f"{self.path} ({self.form}, role {self.role or 'not stated'}{where})"


def read_key_file(path: str | os.PathLike[str]) -> KeyFile:
    """Read the PEM block and its headers (no passphrase needed yet)."""
    p = Path(path)
    try:
        text = read_limited(p, MAX_KEY_FILE_BYTES, what="key file").decode("ascii")
    except GroundFloorError as exc:
        raise SoftKeyError(str(exc)) from None
    except UnicodeDecodeError:
        raise SoftKeyError(f"key file {p} is not a PEM text file") from None
    lines = [line.strip() for line in text.splitlines()]
    begins = [i for i, line in enumerate(lines) if line.startswith("-----BEGIN ")]
    if len(begins) != 1:
        raise SoftKeyError(f"key file {p} must hold exactly one PEM private key block "
                           f"(found {len(begins)})")
    start = begins[0]
    block_type = lines[start][len("-----BEGIN "):].rstrip("-").strip()
    try:
        end = lines.index(f"-----END {block_type}-----", start)
    except ValueError:
        raise SoftKeyError(f"key file {p}: the PEM block {block_type} has no END line") from None
    headers: dict[str, str] = {}
    body_lines = []
    for line in lines[start + 1:end]:
        if ":" in line and not body_lines:
            name, _, value = line.partition(":")
            headers[name.strip()] = value.strip()
        elif line:
            body_lines.append(line)
    try:
        body = base64.b64decode("".join(body_lines), validate=True)
    except (binascii.Error, ValueError):
        raise SoftKeyError(f"key file {p}: the PEM body is not base64") from None
    if block_type == "ENCRYPTED PRIVATE KEY":
        form = ENCRYPTED_PKCS8
    elif block_type in ("EC PRIVATE KEY", "RSA PRIVATE KEY") and \
            headers.get("Proc-Type", "").replace(" ", "") == "4,ENCRYPTED":
        form = LEGACY_PEM
    elif block_type == "PRIVATE KEY":
        form = PLAIN_PKCS8
    else:
        raise SoftKeyError(f"key file {p}: a {block_type} block is not a Notary/Docker private "
                           "key file (expected ENCRYPTED PRIVATE KEY, or an encrypted EC/RSA "
                           "PRIVATE KEY of older clients)")
    return KeyFile(str(p), block_type, form, headers.get("role", ""), headers.get("gun", ""),
                   headers, body)


def read_passphrase(source_text: str | None, what: str) -> Pin:
    """The passphrase of `what` from `prompt` (no echo), `env:NAME` or `file:PATH`."""
    try:
        source = parse_pin_source(source_text)
    except PinError as exc:
        raise SoftKeyError(str(exc).replace("pin-source", "passphrase source")
                           .replace("a PIN", "a passphrase")) from None
    if source.kind == "prompt":
        try:
            with open("/dev/tty", "rb"):
                pass
        except OSError:
            raise SoftKeyError(f"no terminal to ask for the passphrase of {what}: give "
                               "--passphrase-source env:NAME or file:PATH") from None
        try:
            value = getpass.getpass(f"Passphrase of {what}: ")
        except EOFError:
            value = ""
    elif source.kind == "env":
        value = os.environ.get(source.where, "")
    else:
        try:
            data = read_limited(source.where, MAX_PASSPHRASE_FILE_BYTES, what="passphrase file")
        except GroundFloorError as exc:
            raise SoftKeyError(str(exc)) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise SoftKeyError(f"passphrase file {source.where} is not UTF-8 text") from None
        value = text.splitlines()[0] if text else ""
    if not value:
        raise SoftKeyError(f"empty passphrase from {source.describe()} for {what}")
    register_secret(value)
    return Pin(value)


def _unpad(data: bytes, block: int = 128) -> bytes | None:
    unpadder = padding.PKCS7(block).unpadder()
    try:
        return unpadder.update(data) + unpadder.finalize()
    except ValueError:
        return None


def _wrong(kf: KeyFile) -> SoftKeyError:
    return SoftKeyError(f"key file {kf.path}: wrong passphrase (or a damaged file); nothing "
                        "was signed")


def _private_key_info(der: bytes) -> PrivateKeyTypes:
    """A PrivateKeyInfo, including Notary's version-1 form without a public key."""
    info = asn1_keys.PrivateKeyInfo.load(der)
    fixed = asn1_keys.PrivateKeyInfo({"version": 0,
                                      "private_key_algorithm": info["private_key_algorithm"],
                                      "private_key": info["private_key"]})
    return load_der_private_key(fixed.dump(force=True), None)


def _decrypt_pkcs8(kf: KeyFile, secret: bytes) -> bytes:
    try:
        enc = asn1_keys.EncryptedPrivateKeyInfo.load(kf.body)
        algo = enc["encryption_algorithm"]
        if algo["algorithm"].native != "pbes2":
            raise SoftKeyError(f"key file {kf.path}: encryption {algo['algorithm'].native} is "
                               "not supported (Notary writes PBES2)")
        params = algo["parameters"]
        kdf, scheme = params["key_derivation_func"], params["encryption_scheme"]
        if kdf["algorithm"].native != "pbkdf2" or scheme["algorithm"].native not in _AES:
            raise SoftKeyError(f"key file {kf.path}: PBES2 with {kdf['algorithm'].native} and "
                               f"{scheme['algorithm'].native} is not supported")
        kp = kdf["parameters"]
        prf = kp["prf"]["algorithm"].native.replace("hmac_with_", "")
        size = _AES[scheme["algorithm"].native]
        key = hashlib.pbkdf2_hmac(prf, secret, kp["salt"].native, kp["iteration_count"].native,
                                  size)
        iv = scheme["parameters"].native
        data = enc["encrypted_data"].native
    except SoftKeyError:
        raise
    except (ValueError, TypeError, KeyError):
        raise SoftKeyError(f"key file {kf.path}: not a readable encrypted PKCS#8 key") from None
    decryptor = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
    plain = _unpad(decryptor.update(data) + decryptor.finalize())
    if plain is None:
        raise _wrong(kf)
    return plain


def _decrypt_legacy(kf: KeyFile, secret: bytes) -> bytes:
    cipher, _, iv_hex = kf.headers.get("DEK-Info", "").partition(",")
    size = _LEGACY_AES.get(cipher.strip())
    try:
        iv = bytes.fromhex(iv_hex.strip())
    except ValueError:
        iv = b""
    if size is None or len(iv) != 16:
        raise SoftKeyError(f"key file {kf.path}: DEK-Info {kf.headers.get('DEK-Info', '')!r} "
                           "is not supported (older Notary clients wrote AES-256-CBC)")
    # OpenSSL's EVP_BytesToKey with MD5 and one round, salt = the IV's first 8 bytes.
    key, block = b"", b""
    while len(key) < size:
        block = hashlib.md5(block + secret + iv[:8], usedforsecurity=False).digest()
        key += block
    decryptor = Cipher(algorithms.AES(key[:size]), modes.CBC(iv)).decryptor()
    plain = _unpad(decryptor.update(kf.body) + decryptor.finalize())
    if plain is None:
        raise _wrong(kf)
    return plain


def unlock(kf: KeyFile, passphrase: Pin | None) -> SoftwareKeySigner:
    """Decrypt the key in memory. SoftKeyError for a wrong passphrase or an unusable key."""
    if kf.encrypted and passphrase is None:
        raise SoftKeyError(f"key file {kf.path} is encrypted: a passphrase is needed")
    secret = passphrase.reveal().encode("utf-8") if passphrase is not None else b""
    try:
        if kf.form == ENCRYPTED_PKCS8:
            private = _private_key_info(_decrypt_pkcs8(kf, secret))
        elif kf.form == LEGACY_PEM:
            private = load_der_private_key(_decrypt_legacy(kf, secret), None)
        else:
            private = _private_key_info(kf.body)
    except SoftKeyError:
        raise
    except (ValueError, TypeError):  # padding happened to look right: still the wrong key
        raise _wrong(kf) from None
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey |
                      ed25519.Ed25519PrivateKey):
        raise SoftKeyError(f"key file {kf.path}: {type(private).__name__} keys are not used by "
                           "Notary")
    return SoftwareKeySigner(private, kf)


class SoftwareKeySigner:
    """The hsm.signer.Signer interface over a client's software key, held in memory only."""

    def __init__(self, private_key: PrivateKeyTypes, source: KeyFile):
        self._key = private_key
        self._public = private_key.public_key()
        self.source = source
        self.signatures = 0

    @property
    def public_key(self) -> PublicKeyTypes:
        return self._public

    @property
    def method(self) -> str:
        if isinstance(self._public, ec.EllipticCurvePublicKey):
            return "ecdsa"
        return "rsapss" if isinstance(self._public, rsa.RSAPublicKey) else "eddsa"

    def sign(self, message: bytes) -> bytes:
        """Sign once: the private key is dropped after its one signature (adoption signs one
        root with it), so it cannot be used for anything else in this process."""
        key = self._key
        if key is None:
            raise SoftKeyError(f"the software key of {self.source.path} was already used for "
                               "its one signature")
        self._key = None  # type: ignore[assignment]
        self.signatures += 1
        if isinstance(key, ec.EllipticCurvePrivateKey):
            r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
            size = (key.curve.key_size + 7) // 8
            return r.to_bytes(size, "big") + s.to_bytes(size, "big")
        if isinstance(key, rsa.RSAPrivateKey):
            return key.sign(message, rsa_padding.PSS(mgf=rsa_padding.MGF1(hashes.SHA256()),
                                                     salt_length=32), hashes.SHA256())
        assert isinstance(key, ed25519.Ed25519PrivateKey)
        return key.sign(message)

    def forget(self) -> None:
        """Drop the private key object (Python cannot wipe memory; this is what it can do)."""
        self._key = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"SoftwareKeySigner({self.source.path})"

    def __reduce__(self) -> tuple[object, ...]:
        raise TypeError("a private key cannot be pickled")
