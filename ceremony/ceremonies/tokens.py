"""The tokens of one ceremony run: one pool, one login per token, every PIN registered secret.

    tokens = CeremonyTokens(module=None, pin_sources=["root-a=env:ROOT_A_PIN", "file:/pins/x"])
    tok = tokens.open("pkcs11:token=root-a", purpose="root")
    info, reused = tokens.generate_or_reuse(tok, "root", "ecdsa-p256")
    signers = tokens.locate(keys, [tok])     # by public key, without logging in
                                             # (keys: any system's, with `identity`; signers.py)
    ... signers sign later: the token logs in at its first signature, once for the whole run

PIN sources (`--pin-source`, repeatable): `LABEL=SOURCE` for one token, or `SOURCE` for every
token without its own (SOURCE: prompt, env:NAME, file:PATH). The PIN is read by hsm/ at login;
before that this module reads it too, only to register it with ceremony.secrets, so that no
transcript entry, error or output can carry it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.signers import PublicKeyIdentity, SignerSet
from ceremony.secrets import register_secret
from hsm.errors import HSMError, KeyNotFoundError, PinError, TokenNotFoundError
from hsm.keys import KeyInfo
from hsm.pin import parse_pin_source, read_pin, tty_prompt
from hsm.pubkey import public_key_der
from hsm.session import TokenPool
from hsm.token import Token
from hsm.uri import parse_uri


class PinSources:
    """`--pin-source` values: per token label (`LABEL=SOURCE`) or one default (`SOURCE`)."""

    def __init__(self, specs: Sequence[str] = ()):
        self.default: str | None = None
        self.per_token: dict[str, str] = {}
        for spec in specs:
            label, sep, source = spec.partition("=")
            # "env:X", "file:/p", "/path/with=sign" are sources; "root-a=env:X" names a token.
            if sep and label and ":" not in label and "/" not in label:
                if label in self.per_token:
                    raise PinError(f"--pin-source given twice for token '{label}'")
                parse_pin_source(source)  # refuse a bad source now (never echoing it)
                self.per_token[label] = source
            else:
                if self.default is not None:
                    raise PinError("--pin-source without a token label given twice; use "
                                   "LABEL=SOURCE for each token")
                parse_pin_source(spec)
                self.default = spec

    def for_token(self, label: str | None, uri_source: str | None) -> str:
        if label is not None and label in self.per_token:
            return self.per_token[label]
        return self.default or uri_source or "prompt"


class _LazySigner:
    """A token key as a Signer whose private key is looked up (and the token logged in to)
    only at its first signature -- after the review has been confirmed."""

    def __init__(self, token: Token, info: KeyInfo):
        if info.public_key is None or info.method is None:
            raise HSMError(f"key '{info.label}' on token '{token.label}' cannot sign")
        self._token, self._info = token, info
        self._signer: Any = None

    @property
    def public_key(self) -> Any:
        return self._info.public_key

    @property
    def method(self) -> str:
        assert self._info.method is not None
        return self._info.method

    def sign(self, message: bytes) -> bytes:
        if self._signer is None:
            try:
                self._signer = self._token.signer(self._info.label, self._info.id or None)
            except KeyNotFoundError:
                # It was found on the token before the review: the token went away (SoftHSM
                # and some readers then show no objects) or was swapped for another one.
                raise TokenNotFoundError(
                    f"token '{self._token.label}' was removed or changed during the ceremony: "
                    f"key '{self._info.label}', found on it before the review, is gone; "
                    "reinsert the token and run again (nothing was written)") from None
        return self._signer.sign(message)


class CeremonyTokens:
    """Tokens opened for one ceremony (context manager; logs out at the end)."""

    def __init__(self, *, module: str | None = None, pin_sources: Sequence[str] = (),
                 on_warning: Callable[[str], None] | None = None):
        self.pins = PinSources(pin_sources)
        self.pool = TokenPool(module=module, prompt=self._prompt, on_warning=on_warning)
        self.opened: list[tuple[Token, str]] = []  # (token, purpose) in opening order
        self._keys: dict[str, list[KeyInfo]] = {}
        self._signing: set[tuple[str, str]] = set()  # tokens of the last `locate`
        self.signatures = 0

    def __enter__(self) -> CeremonyTokens:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.pool.close()

    @staticmethod
    def _prompt(label: str) -> str:
        pin = tty_prompt(label)
        if pin:
            register_secret(pin)
        return pin

    @property
    def logins(self) -> int:
        return self.pool.logins

    def logins_by_token(self) -> dict[str, int]:
        return self.pool.logins_by_token()

    # -- opening ---------------------------------------------------------------------------
    def open(self, uri: str, purpose: str) -> Token:
        """Open the token `uri` selects (a PKCS#11 URI or a bare label) for `purpose`."""
        parsed = parse_uri(uri)
        source = self.pins.for_token(parsed.token, parsed.pin_source)
        token = self.pool.open(parsed, pin_source=source)
        if parsed.token is None and token.label in self.pins.per_token:
            source = self.pins.per_token[token.label]
            token = self.pool.open(parsed, pin_source=source)
        self._register(source, token.label)
        for known, _ in self.opened:
            if known.info.serial == token.info.serial and known.label == token.label:
                token = known
                break
        self.opened.append((token, purpose))
        return token

    def _register(self, source: str, label: str) -> None:
        parsed = parse_pin_source(source)
        if parsed.kind in ("env", "file"):
            register_secret(read_pin(parsed, label).reveal())

    def tokens(self) -> list[Token]:
        """Distinct tokens opened, in order."""
        seen: dict[tuple[str, str], Token] = {}
        for token, _ in self.opened:
            seen.setdefault((token.info.serial, token.label), token)
        return list(seen.values())

    def present(self) -> str:
        """The tokens present right now, for error messages ("tokens present: ...")."""
        found = [f"'{label}' (serial {serial})" for serial, label in self._plugged()]
        return ", ".join(found) if found else "none"

    def present_set(self) -> set[tuple[str, str]]:
        """(serial, label) of the tokens present right now."""
        return set(self._plugged())

    def _plugged(self) -> list[tuple[str, str]]:
        found = []
        try:
            for _module, slots in self.pool.slots():
                for slot in slots:
                    if slot.token is not None:
                        found.append((slot.token.serial, slot.token.label))
        except HSMError:
            pass
        return found

    # -- keys ------------------------------------------------------------------------------
    def keys(self, token: Token) -> list[KeyInfo]:
        """Keys on the token; public objects first (no login), logging in only if the token
        shows none without it."""
        cache_key = f"{token.info.serial}/{token.label}"
        if cache_key not in self._keys:
            found = token.keys(login=token.logged_in)
            if not any(k.public_key is not None for k in found) and not token.logged_in:
                found = token.keys(login=True)
            self._keys[cache_key] = found
        return self._keys[cache_key]

    def key_by_label(self, token: Token, label: str) -> KeyInfo | None:
        matches = [k for k in self.keys(token) if k.label == label]
        if len(matches) > 1:
            raise KeyNotFoundError(f"token '{token.label}' has {len(matches)} keys labelled "
                                   f"'{label}'; give each key a distinct label")
        return matches[0] if matches else None

    def generate_or_reuse(self, token: Token, label: str,
                          algorithm: str) -> tuple[KeyInfo, bool]:
        """The key labelled `label` on the token: reused if it exists (checked usable),
        generated there otherwise. Returns (key, reused)."""
        existing = self.key_by_label(token, label)
        if existing is not None:
            if existing.public_key is None or existing.method is None:
                raise CeremonyRefused(f"token '{token.label}' has a key labelled '{label}' "
                                      f"that this tool cannot sign with ({existing.key_type}); "
                                      "choose another label")
            if not existing.has_private:
                # not visible before login: look again logged in
                token.login()
                self._keys.pop(f"{token.info.serial}/{token.label}", None)
                existing = self.key_by_label(token, label)
                if existing is None or not existing.has_private:
                    raise CeremonyRefused(f"token '{token.label}' has a public key labelled "
                                          f"'{label}' but no private key for it")
            return existing, True
        info = token.generate_key(label, algorithm)
        self._keys.pop(f"{token.info.serial}/{token.label}", None)
        return info, False

    def custody(self, token: Token, info: KeyInfo) -> dict[str, Any]:
        """Custody evidence of a key, read back from the token (logs in if needed)."""
        custody = info.custody
        if custody is None:
            custody = token.key(info.label, info.id or None).custody
        return {"token": token.label, "serial": token.info.serial, "key_label": info.label,
                "pkcs11_id": info.id.hex(), "algorithm": info.algorithm,
                "custody": custody.to_json() if custody is not None else None}

    def locate(self, keys: Iterable[PublicKeyIdentity],
               tokens: Iterable[Token] | None = None) -> SignerSet:
        """Signers for those of `keys` (any trust system's keys: see signers.py) that live on
        the given tokens (default: every token opened), found by public key without logging
        in."""
        wanted = {ident for ident in (k.identity for k in keys) if ident is not None}
        signers = SignerSet()
        self._signing.clear()
        for token in (tokens if tokens is not None else self.tokens()):
            for info in self.keys(token):
                if info.public_key is None or info.method is None:
                    continue
                if public_key_der(info.public_key) in wanted:
                    signers.add(_LazySigner(token, info), token_label=token.label,
                                token_serial=token.info.serial, key_label=info.label)
                    self._signing.add((token.info.serial, token.label))
        return signers

    def login_signing(self, signers: SignerSet) -> None:
        """Log in now to every token holding one of `signers` (its PIN is checked, and the
        token's PIN flags reported, before the review instead of after the confirmation)."""
        for token in self.tokens():
            if (token.info.serial, token.label) in self._signing and not token.logged_in:
                token.login()

    def facts(self) -> list[dict[str, Any]]:
        """Public facts of the tokens opened, for the transcript."""
        purposes: dict[tuple[str, str], list[str]] = {}
        for token, purpose in self.opened:
            purposes.setdefault((token.info.serial, token.label), []).append(purpose)
        return [{"label": t.label, "serial": t.info.serial, "manufacturer": t.info.manufacturer,
                 "model": t.info.model, "module": t.info.module,
                 "purposes": sorted(set(purposes[(t.info.serial, t.label)]))}
                for t in self.tokens()]
