"""A token opened for a run: list, generate, export, sign, certify.

`Token` objects come from `TokenPool.open()` / `open_token()`. Several `Token`s for the same
physical token share its sessions, so the PIN is asked for and C_Login happens once.
Operations on public objects (export) do not log in; anything touching a private key does.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import SignatureAlgorithmOID
from pkcs11 import Attribute, CertificateType, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11

from hsm.errors import (
    AlgorithmError,
    HSMError,
    KeyExistsError,
    KeyNotFoundError,
    TokenOperationError,
)
from hsm.keys import (
    ALGORITHMS,
    DEFAULT_ALGORITHM,
    PUBLIC_ATTRIBUTES,
    Algorithm,
    KeyInfo,
    algorithm_of,
    algorithm_of_public_key,
    describe_key_type,
    get_algorithm,
    keypair_templates,
    public_key_from_attrs,
    read_attributes,
    read_custody,
)
from hsm.mechanisms import capabilities, module_name, refuse_unsupported, sign_only_keys
from hsm.tokensigner import TokenSigner, verify_signature
from hsm.uri import Pkcs11URI, format_uri
from hsm.x509 import DEFAULT_VALIDITY, issue_root_certificate

if TYPE_CHECKING:
    from hsm.pin import PinSource
    from hsm.session import TokenInfo, TokenLogin, TokenPool

ID_BYTES = 16


@dataclass(frozen=True)
class CertificateResult:
    """A root certificate made by the token (Notary key IDs: ceremony.notary.format.keys)."""

    certificate: x509.Certificate
    label: str                  # the key's label and CKA_ID on the token
    key_id: bytes
    stored_on_token: bool
    replaced_certificates: list[x509.Certificate]  # stored earlier for this key, now replaced

    @property
    def pem(self) -> bytes:
        return self.certificate.public_bytes(Encoding.PEM)

    @property
    def signature_algorithm(self) -> str:
        oid = self.certificate.signature_algorithm_oid
        return {SignatureAlgorithmOID.ECDSA_WITH_SHA256: "ecdsa-with-SHA256",
                SignatureAlgorithmOID.RSA_WITH_SHA256: "sha256WithRSAEncryption"
                }.get(oid, oid.dotted_string)


def _check_label(label: str) -> None:
    if not label or label != label.strip() or any(ord(c) < 0x20 for c in label):
        raise HSMError("a key label must be non-empty text without control characters or "
                       "spaces at its ends")
    if len(label.encode()) > 255:
        raise HSMError("a key label must be at most 255 bytes")


class Token:
    """One token, opened with a PIN source; see hsm/__init__.py for the API tour."""

    def __init__(self, login: TokenLogin, pool: TokenPool, pin_source: PinSource,
                 uri: Pkcs11URI) -> None:
        self._login = login
        self._pool = pool
        self._pin_source = pin_source
        self.uri = uri

    def __repr__(self) -> str:
        return f"Token(label={self.label!r}, serial={self.info.serial!r})"

    @property
    def info(self) -> TokenInfo:
        return self._login.info

    @property
    def label(self) -> str:
        return self._login.info.label

    @property
    def logged_in(self) -> bool:
        return self._login.logged_in

    def login(self) -> None:
        """Log in now (once per token per process) rather than at the first private use."""
        self._login.user_session(self._pin_source, self._pool)

    def _user(self) -> Any:
        return self._login.user_session(self._pin_source, self._pool)

    def _public(self) -> Any:
        return self._login.public_session()

    # -- finding objects ------------------------------------------------------------------
    def _objects(self, session: Any, cls: ObjectClass, *, label: str | None = None,
                 key_id: bytes | None = None) -> list[Any]:
        template: dict[Attribute, Any] = {Attribute.CLASS: cls}
        if label is not None:
            template[Attribute.LABEL] = label
        if key_id is not None:
            template[Attribute.ID] = key_id
        try:
            return list(session.get_objects(template))
        except p11.PKCS11Error as exc:
            raise TokenOperationError(f"token '{self.label}' failed to search its objects "
                                      f"({type(exc).__name__})") from None

    def _select(self, label: str | None, key_id: bytes | None) -> tuple[str | None, bytes | None]:
        """Merge explicit label/id with the URI's object/id; they must agree."""
        if self.uri.type in ("secret-key", "data"):
            raise KeyNotFoundError(f"the URI asks for type={self.uri.type}; this tool works "
                                   "with key pairs (type=private, public or cert)")
        if label is not None and self.uri.object is not None and label != self.uri.object:
            raise KeyNotFoundError(f"--label '{label}' and the URI's object='{self.uri.object}' "
                                   "disagree; give one of them")
        if key_id is not None and self.uri.id is not None and key_id != self.uri.id:
            raise KeyNotFoundError("the key ID given and the URI's id= disagree; give one")
        label = label if label is not None else self.uri.object
        key_id = key_id if key_id is not None else self.uri.id
        if label is None and key_id is None:
            raise KeyNotFoundError(f"no key named: give --label LABEL (or object=/id= in the "
                                   f"URI) to choose a key on token '{self.label}'")
        return label, key_id

    def _not_found(self, label: str | None, key_id: bytes | None, what: str = "key") -> Exception:
        have = sorted({k.label for k in self.keys(login=self.logged_in)})
        name = f"label '{label}'" if label is not None else f"id {key_id.hex() if key_id else ''}"
        listed = ", ".join(f"'{h}'" for h in have) if have else "none"
        return KeyNotFoundError(f"token '{self.label}' has no {what} with {name}; keys present: "
                                f"{listed}")

    def _private_key(self, label: str | None, key_id: bytes | None) -> Any:
        found = self._objects(self._user(), ObjectClass.PRIVATE_KEY, label=label, key_id=key_id)
        if not found:
            raise self._not_found(label, key_id, "private key")
        if len(found) > 1:
            raise KeyNotFoundError(f"token '{self.label}' has {len(found)} private keys matching "
                                   "that selection; choose one with id= in the URI")
        return found[0]

    # -- listing ----------------------------------------------------------------------------
    def keys(self, *, login: bool = True) -> list[KeyInfo]:
        """Every key on the token, grouped by CKA_ID. Without login, private keys (and so the
        custody evidence) are not visible."""
        session = self._user() if login else self._public()
        groups: dict[tuple[str, bytes], dict[str, Any]] = {}
        for cls, slot in ((ObjectClass.PRIVATE_KEY, "private"), (ObjectClass.PUBLIC_KEY, "public"),
                          (ObjectClass.CERTIFICATE, "cert")):
            for obj in self._objects(session, cls):
                attrs = read_attributes(obj, [Attribute.LABEL, Attribute.ID])
                label, oid = attrs.get(Attribute.LABEL, ""), bytes(attrs.get(Attribute.ID, b""))
                # Private keys come first, so a key is shown under its private key's label.
                group = groups.setdefault(("id", oid) if oid else ("label", label.encode()),
                                          {"label": label, "id": oid})
                group.setdefault(slot, obj)
        out = [self._key_info(g) for g in groups.values() if "private" in g or "public" in g]
        return sorted(out, key=lambda k: (k.label, k.id))

    def _key_info(self, group: dict[str, Any]) -> KeyInfo:
        private, public, cert_obj = group.get("private"), group.get("public"), group.get("cert")
        attrs: dict[Attribute, Any] = {}
        for obj in (private, public):
            if obj is not None:
                attrs.update(read_attributes(obj, PUBLIC_ATTRIBUTES))
        cert = _load_cert(cert_obj)
        public_key = public_key_from_attrs(attrs)
        if public_key is None and cert is not None:
            public_key = cert.public_key()
        algorithm = algorithm_of(attrs) or (algorithm_of_public_key(public_key)
                                            if public_key is not None else None)
        if algorithm not in ALGORITHMS:
            algorithm = None
        label, key_id = group["label"], group["id"]
        return KeyInfo(
            label=label, id=key_id, algorithm=algorithm, key_type=describe_key_type(attrs),
            public_key=public_key, has_private=private is not None, has_public=public is not None,
            custody=read_custody(private) if private is not None else None, certificate=cert,
            uri=format_uri(token=self.label, serial=self.info.serial, object=label,
                           id=key_id or None))

    def key(self, label: str | None = None, key_id: bytes | None = None, *,
            login: bool = True) -> KeyInfo:
        """The one key with this label and/or ID (defaults: the URI's object= / id=)."""
        label, key_id = self._select(label, key_id)
        found = [k for k in self.keys(login=login)
                 if (label is None or k.label == label) and (key_id is None or k.id == key_id)]
        if not found:
            raise self._not_found(label, key_id)
        if len(found) > 1:
            raise KeyNotFoundError(f"token '{self.label}' has {len(found)} keys labelled "
                                   f"'{label}'; choose one with id= in the URI")
        return found[0]

    def public_key(self, label: str | None = None, key_id: bytes | None = None) -> KeyInfo:
        """A key for export. Reads public objects without logging in when it can."""
        sel_label, sel_id = self._select(label, key_id)
        if not self.logged_in:
            try:
                info = self.key(sel_label, sel_id, login=False)
                if info.public_key is not None:
                    return info
            except KeyNotFoundError:
                pass
        return self.key(sel_label, sel_id, login=True)

    # -- generation -------------------------------------------------------------------------
    def generate_key(self, label: str, algorithm: str = DEFAULT_ALGORITHM,
                     key_id: bytes | None = None) -> KeyInfo:
        """Generate a signing key pair ON the token; returns it with its custody evidence."""
        _check_label(label)
        alg = get_algorithm(algorithm)
        # Asked of the token before the PIN: a module that lacks the algorithm is refused first.
        refuse_unsupported(capabilities(self._login.slot, self._login.module.description), alg,
                           self.label, self.module_name)
        session = self._user()
        for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY, ObjectClass.CERTIFICATE):
            if self._objects(session, cls, label=label):
                raise KeyExistsError(f"token '{self.label}' already has a key labelled '{label}';"
                                     " choose another --label (nothing was generated)")
            if key_id is not None and self._objects(session, cls, key_id=key_id):
                raise KeyExistsError(f"token '{self.label}' already has an object with id "
                                     f"{key_id.hex()}; choose another ID (nothing was generated)")
        while key_id is None:
            candidate = os.urandom(ID_BYTES)
            if not any(self._objects(session, c, key_id=candidate) for c in
                       (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY, ObjectClass.CERTIFICATE)):
                key_id = candidate
        # Sign-only first, unless the module is known not to make such keys; a module that
        # refuses the sign-only template (tpm2-pkcs11) gets one more try with ENCRYPT/DECRYPT
        # left to it, and what it made is reported as custody evidence.
        attempts = [True, False] if sign_only_keys(self._login.module.description) else [False]
        for n, sign_only in enumerate(attempts, 1):
            try:
                public, private = self._generate(session, alg, label, key_id,
                                                 sign_only=sign_only)
                break
            except (p11.GeneralError, p11.TemplateInconsistent, p11.AttributeValueInvalid) as exc:
                if n == len(attempts):
                    raise self._generation_error(alg, exc) from None
            except p11.PKCS11Error as exc:
                raise self._generation_error(alg, exc) from None
        info = self._key_info({"label": label, "id": key_id, "private": private,
                               "public": public})
        problem = self._self_test(info, private)
        if problem:
            for obj in (private, public):
                try:
                    obj.destroy()
                except p11.PKCS11Error:
                    pass
            raise TokenOperationError(f"token '{self.label}' generated a {alg.name} key that "
                                      f"failed its checks ({problem}); the key was destroyed")
        return info

    def _generation_error(self, alg: Algorithm, exc: p11.PKCS11Error) -> TokenOperationError:
        return TokenOperationError(f"token '{self.label}' could not generate a {alg.name} key "
                                   f"({type(exc).__name__}); nothing was stored")

    @staticmethod
    def _generate(session: Any, alg: Algorithm, label: str, key_id: bytes, *,
                  sign_only: bool) -> tuple[Any, Any]:
        public_t, private_t = keypair_templates(alg, label, key_id, sign_only=sign_only)
        return session.generate_keypair(
            alg.key_type, alg.bits if alg.is_rsa else None, id=key_id, label=label,
            store=True, capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            mechanism=alg.gen_mechanism, public_template=public_t, private_template=private_t)

    @property
    def module_name(self) -> str:
        """The token's module as messages name it."""
        return module_name(self._login.module.path, self._login.module.description)

    def algorithms(self) -> list[str]:
        """The algorithms this token can generate and sign with (its mechanism list)."""
        return capabilities(self._login.slot, self._login.module.description).algorithms()

    def _self_test(self, info: KeyInfo, private: Any) -> str | None:
        if info.custody is None or info.custody.essential_problems:
            return "custody attributes: " + ", ".join(info.custody.essential_problems
                                                       if info.custody
                                                       else ["private key not readable"])
        if info.public_key is None or info.algorithm is None:
            return "public key not readable"
        signer = self._make_signer(info, private)
        probe = b"pairwise consistency test " + os.urandom(16)
        try:
            signature = signer.sign(probe)
        except HSMError as exc:
            return f"test signature failed: {exc}"
        if not verify_signature(info.public_key, signer.method, probe, signature):
            return "its test signature does not verify against its public key"
        return None

    # -- signing ------------------------------------------------------------------------------
    def signer(self, label: str | None = None, key_id: bytes | None = None) -> TokenSigner:
        """A Signer for the key with this label/ID (logs in once if needed)."""
        label, key_id = self._select(label, key_id)
        private = self._private_key(label, key_id)
        attrs = read_attributes(private, [Attribute.LABEL, Attribute.ID])
        info = self.key(attrs.get(Attribute.LABEL), bytes(attrs.get(Attribute.ID, b"")) or None)
        return self._make_signer(info, private)

    def _make_signer(self, info: KeyInfo, private: Any) -> TokenSigner:
        if info.algorithm is None or info.public_key is None:
            raise AlgorithmError(f"key '{info.label}' on token '{self.label}' is a "
                                 f"{info.key_type} key, which this tool cannot sign with "
                                 f"(supported: {', '.join(ALGORITHMS)})")
        return TokenSigner(private_key=private, public_key=info.public_key,
                           algorithm=ALGORITHMS[info.algorithm], label=info.label,
                           key_id=info.id, token_label=self.label)

    # -- certificates -----------------------------------------------------------------------
    def certificate(self, label: str | None, gun: str, *,
                    valid_for: dt.timedelta = DEFAULT_VALIDITY,
                    not_before: dt.datetime | None = None, key_id: bytes | None = None,
                    store: bool = False) -> CertificateResult:
        """Issue a self-signed root certificate for GUN over the key; the token signs it.
        Works again for the same key (re-issue: new serial and validity, same key). With
        `store`, the certificate is also put on the token (same label and CKA_ID), replacing
        an earlier one stored for this key."""
        signer = self.signer(label, key_id)
        if signer.method == "eddsa":
            raise AlgorithmError(f"key '{signer.label}' is ed25519: Notary root certificates "
                                 "hold ECDSA or RSA keys only (no ed25519-x509 key type); use "
                                 "an ecdsa or rsa key for a root, ed25519 suits targets keys")
        cert = issue_root_certificate(signer.public_key, gun, signer.sign_certificate,
                                      valid_for=valid_for, not_before=not_before)
        replaced: list[x509.Certificate] = []
        if store:
            replaced = self._store_certificate(cert, signer.label, signer.key_id)
        return CertificateResult(certificate=cert, label=signer.label, key_id=signer.key_id,
                                 stored_on_token=store, replaced_certificates=replaced)

    def store_certificate(self, cert: x509.Certificate, label: str,
                          key_id: bytes) -> list[x509.Certificate]:
        """Store a certificate issued earlier for the key (same label and CKA_ID), replacing
        one stored before for it; returns the replaced ones."""
        return self._store_certificate(cert, label, key_id)

    def _store_certificate(self, cert: x509.Certificate, label: str,
                           key_id: bytes) -> list[x509.Certificate]:
        session = self._user()
        old = self._objects(session, ObjectClass.CERTIFICATE, key_id=key_id)
        replaced = []
        for obj in old:
            old_cert = _load_cert(obj)
            if old_cert is not None:
                replaced.append(old_cert)
        serial = cert.serial_number
        serial_der = b"\x02" + _der_len(serial) + serial.to_bytes(serial.bit_length() // 8 + 1,
                                                                  "big")
        try:
            session.create_object({
                Attribute.CLASS: ObjectClass.CERTIFICATE,
                Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
                Attribute.TOKEN: True, Attribute.PRIVATE: False, Attribute.LABEL: label,
                Attribute.ID: key_id, Attribute.SUBJECT: cert.subject.public_bytes(),
                Attribute.ISSUER: cert.issuer.public_bytes(), Attribute.SERIAL_NUMBER: serial_der,
                Attribute.VALUE: cert.public_bytes(Encoding.DER),
            })
        except p11.PKCS11Error as exc:
            raise TokenOperationError(f"token '{self.label}' could not store the certificate "
                                      f"({type(exc).__name__}); the earlier one was kept") from None
        for obj in old:
            try:
                obj.destroy()
            except p11.PKCS11Error as exc:
                raise TokenOperationError(f"token '{self.label}' stored the new certificate but "
                                          "could not remove the earlier one "
                                          f"({type(exc).__name__})") from None
        return replaced


def _der_len(serial: int) -> bytes:
    n = serial.bit_length() // 8 + 1
    return bytes([n]) if n < 0x80 else bytes([0x81, n])


def _load_cert(obj: Any) -> x509.Certificate | None:
    if obj is None:
        return None
    try:
        value = obj[Attribute.VALUE]
        return x509.load_der_x509_certificate(bytes(value))
    except (p11.PKCS11Error, ValueError):
        return None

