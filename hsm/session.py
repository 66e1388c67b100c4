"""Token selection and logins: one login per token per run, however many signatures follow.

PKCS#11 login state belongs to the whole process (C_Login on one session logs in every session
of the application; a second C_Login fails with CKR_USER_ALREADY_LOGGED_IN). So for each
physical token (module + serial + label) there is one `TokenLogin` per process, holding at most
one public and one logged-in session, shared by every `Token` and every `TokenPool` that opens
that token. Pools hold references; the last pool to close logs out. A ceremony that signs many
files with keys on one token asks for its PIN and logs in exactly once. `TokenPool.logins`
counts the C_Login calls a pool caused.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pkcs11
from pkcs11 import SlotFlag, TokenFlag
from pkcs11 import exceptions as p11

from hsm.errors import (
    HSMError,
    PinError,
    PinIncorrectError,
    PinLockedError,
    TokenNotFoundError,
    TokenOperationError,
)
from hsm.module import Module, ModuleRegistry, choose_modules
from hsm.pin import PinPrompt, PinSource, parse_pin_source, read_pin
from hsm.pinlimits import pin_limits
from hsm.token import Token
from hsm.uri import Pkcs11URI, format_uri, parse_uri, redact

log = logging.getLogger("hsm")

Warn = Callable[[str], None]

# Token flags shown to people, in this order.
FLAG_NAMES: list[tuple[TokenFlag, str]] = [
    (TokenFlag.TOKEN_INITIALIZED, "initialized"),
    (TokenFlag.LOGIN_REQUIRED, "login-required"),
    (TokenFlag.USER_PIN_INITIALIZED, "user-pin-initialized"),
    (TokenFlag.PROTECTED_AUTHENTICATION_PATH, "protected-authentication-path"),
    (TokenFlag.WRITE_PROTECTED, "write-protected"),
    (TokenFlag.RNG, "rng"),
    (TokenFlag.USER_PIN_COUNT_LOW, "user-pin-count-low"),
    (TokenFlag.USER_PIN_FINAL_TRY, "user-pin-final-try"),
    (TokenFlag.USER_PIN_LOCKED, "user-pin-locked"),
    (TokenFlag.USER_PIN_TO_BE_CHANGED, "user-pin-to-be-changed"),
    (TokenFlag.SO_PIN_LOCKED, "so-pin-locked"),
]


@dataclass(frozen=True)
class TokenInfo:
    label: str
    serial: str
    manufacturer: str
    model: str
    slot_id: int
    slot_description: str
    module: str
    flags: int

    @property
    def flag_names(self) -> list[str]:
        return [name for flag, name in FLAG_NAMES if self.flags & flag]

    @property
    def uri(self) -> str:
        return format_uri(token=self.label, serial=self.serial)

    def describe(self) -> str:
        return f"'{self.label}' (serial {self.serial}, {self.manufacturer} {self.model})"

    def to_json(self) -> dict[str, Any]:
        return {"label": self.label, "serial": self.serial, "manufacturer": self.manufacturer,
                "model": self.model, "slot_id": self.slot_id,
                "slot_description": self.slot_description, "module": self.module,
                "flags": self.flag_names, "uri": self.uri}


def token_info(module: Module, pk_token: Any) -> TokenInfo:
    slot = pk_token.slot
    serial = pk_token.serial.decode("ascii", "replace") if isinstance(pk_token.serial, bytes) \
        else str(pk_token.serial)
    return TokenInfo(label=pk_token.label.strip(), serial=serial.strip(),
                     manufacturer=pk_token.manufacturer_id.strip(), model=pk_token.model.strip(),
                     slot_id=int(slot.slot_id), slot_description=slot.slot_description.strip(),
                     module=module.path, flags=int(pk_token.flags))


@dataclass(frozen=True)
class SlotEntry:
    """A slot as `token list` shows it; `token` is None when the slot is empty."""

    slot_id: int
    description: str
    manufacturer: str
    token: TokenInfo | None
    note: str = ""


class TokenLogin:
    """The sessions of one physical token in this process; logs in at most once."""

    def __init__(self, module: Module, pk_token: Any) -> None:
        self.refs = 0
        self.module = module
        self._pk_token = pk_token
        self.info = token_info(module, pk_token)
        self.logins = 0
        self._public: Any = None
        self._user: Any = None

    def _fresh_flags(self) -> int:
        try:
            return int(self._pk_token.slot.get_token().flags)
        except p11.PKCS11Error:
            return 0

    @property
    def logged_in(self) -> bool:
        return self._user is not None

    @property
    def slot(self) -> Any:
        """The python-pkcs11 slot (mechanism lists and limits)."""
        return self._pk_token.slot

    def public_session(self) -> Any:
        """A session for public objects; the logged-in one if there is one."""
        if self._user is not None:
            return self._user
        if self._public is None:
            try:
                self._public = self._pk_token.open(rw=False)
            except p11.PKCS11Error as exc:
                raise session_error(exc, self.info.label) from None
        return self._public

    def user_session(self, source: PinSource, pool: TokenPool) -> Any:
        """The logged-in session, logging in (once) if needed; `pool` gets the prompt, the
        warnings and the login count."""
        if self._user is not None:
            return self._user
        label = self.info.label
        flags = self._fresh_flags()
        if not flags & TokenFlag.USER_PIN_INITIALIZED:
            raise PinError(f"token '{label}' has no user PIN set (CKF_USER_PIN_INITIALIZED is "
                           "off): its security officer must initialise the user PIN first")
        if flags & TokenFlag.USER_PIN_LOCKED:
            raise PinLockedError(locked_message(label))
        if flags & TokenFlag.USER_PIN_FINAL_TRY:
            pool.warn(f"token '{label}': one more wrong PIN will lock it "
                           "(CKF_USER_PIN_FINAL_TRY)")
        rw = not flags & TokenFlag.WRITE_PROTECTED
        if flags & TokenFlag.PROTECTED_AUTHENTICATION_PATH and source.kind == "prompt":
            pool.warn(f"token '{label}': enter the PIN on the reader's PIN pad")
            user_pin: Any = pkcs11.PROTECTED_AUTH
            pin = None
        else:
            pin = read_pin(source, label, prompt=pool.prompt, warn=pool.warn,
                           limits=pin_limits(self.module.path, self.info.slot_id))
            user_pin = pin.reveal()
        try:
            session = self._pk_token.open(rw=rw, user_pin=user_pin)
        except p11.UserAlreadyLoggedIn:
            # Someone else in this process logged in (not through hsm/): use that login.
            session = None
        except p11.PKCS11Error as exc:
            raise login_error(exc, label, self._fresh_flags()) from None
        finally:
            del pin, user_pin
        if session is None:
            try:
                self._user = self._pk_token.open(rw=rw)
            except p11.PKCS11Error as exc:
                raise session_error(exc, label) from None
            return self._user
        self._user = session
        self.logins += 1
        pool._logins += 1
        log.info("logged in to token %s", label)
        if flags & TokenFlag.USER_PIN_COUNT_LOW:
            pool.warn(f"token '{label}' reported at least one wrong PIN since its last "
                           "successful login (CKF_USER_PIN_COUNT_LOW); if that was not you, "
                           "stop and find out who tried")
        if flags & TokenFlag.USER_PIN_TO_BE_CHANGED:
            pool.warn(f"token '{label}' asks for its user PIN to be changed "
                           "(CKF_USER_PIN_TO_BE_CHANGED)")
        return session

    def close(self) -> None:
        for attr in ("_user", "_public"):
            session = getattr(self, attr)
            setattr(self, attr, None)
            if session is not None:
                try:
                    session.close()
                except p11.PKCS11Error:
                    pass  # the token may have gone; nothing left to release


def locked_message(label: str) -> str:
    return (f"the user PIN of token '{label}' is locked (CKR_PIN_LOCKED): no attempt was made; "
            "its security officer must unblock it (reset the user PIN) before it can sign")


def login_error(exc: p11.PKCS11Error, label: str, flags_after: int = 0) -> HSMError:
    """Turn a C_Login failure into an error an officer can act on. Never includes the PIN."""
    if isinstance(exc, p11.PinIncorrect):
        msg = f"wrong PIN for token '{label}' (CKR_PIN_INCORRECT)"
        if flags_after & TokenFlag.USER_PIN_LOCKED:
            msg += ("; the PIN is now LOCKED: its security officer must unblock it before it "
                    "can sign")
        elif flags_after & TokenFlag.USER_PIN_FINAL_TRY:
            msg += "; one more wrong PIN will LOCK it"
        elif flags_after & TokenFlag.USER_PIN_COUNT_LOW:
            msg += "; the token now counts failed attempts (CKF_USER_PIN_COUNT_LOW)"
        return PinIncorrectError(msg + "; nothing was done, check the PIN and run again")
    if isinstance(exc, p11.PinLocked):
        if flags_after and not flags_after & TokenFlag.USER_PIN_LOCKED:
            # A TPM 2.0 (tpm2-pkcs11) answers so in dictionary-attack lockout: the whole TPM,
            # every token on it, refuses PINs; no token flag says so and no SO PIN undoes it.
            return PinLockedError(
                f"token '{label}' refuses every PIN for now (CKR_PIN_LOCKED) although it does "
                "not flag its user PIN as locked: a TPM in dictionary-attack lockout after "
                "wrong PINs (this covers every token on that TPM); wait for the TPM's lockout "
                "recovery time or have its owner clear it (tpm2_dictionarylockout "
                "--clear-lockout), then run again")
        return PinLockedError(locked_message(label))
    if isinstance(exc, p11.PinLenRange):
        return PinError(f"the PIN given for token '{label}' has a length the token does not "
                        "accept (CKR_PIN_LEN_RANGE); check the PIN source")
    if isinstance(exc, p11.PinInvalid):
        return PinError(f"the PIN given for token '{label}' contains characters the token "
                        "does not accept (CKR_PIN_INVALID); check the PIN source")
    if isinstance(exc, p11.PinExpired):
        return PinError(f"the user PIN of token '{label}' has expired (CKR_PIN_EXPIRED); "
                        "change it with the token vendor's tool first")
    if isinstance(exc, p11.UserPinNotInitialized):
        return PinError(f"token '{label}' has no user PIN set (CKR_USER_PIN_NOT_INITIALIZED)")
    return session_error(exc, label, "log in to")


def session_error(exc: p11.PKCS11Error, label: str, doing: str = "open a session on") -> HSMError:
    if isinstance(exc, (p11.TokenNotPresent, p11.DeviceRemoved, p11.SessionClosed,
                        p11.SessionHandleInvalid)):
        return TokenNotFoundError(f"token '{label}' was removed or its session closed "
                                  f"({type(exc).__name__}); reinsert it and run again")
    return TokenOperationError(f"could not {doing} token '{label}' ({type(exc).__name__})")


class TokenPool:
    """Opens tokens by URI or label and keeps one login per token for the pool's lifetime.

    `module` and `pin_source` are defaults for every `open()`; `prompt` is called with a
    token label when a PIN must be asked for (default: the terminal, no echo); `on_warning`
    receives warnings (PIN-count flags, loose PIN-file permissions).
    """

    def __init__(self, *, module: str | None = None, pin_source: str | None = None,
                 prompt: PinPrompt | None = None, on_warning: Warn | None = None,
                 registry: ModuleRegistry | None = None) -> None:
        self.module = module
        self.pin_source = parse_pin_source(pin_source) if pin_source else None
        self.prompt = prompt
        self.on_warning = on_warning
        self.registry = registry or _REGISTRY
        self.warnings: list[str] = []
        self._logins = 0
        self._tokens: dict[tuple[str, str, str], TokenLogin] = {}

    # -- bookkeeping --------------------------------------------------------------------
    @property
    def logins(self) -> int:
        """How many times this pool has logged in to a token (C_Login that succeeded)."""
        return self._logins

    def logins_by_token(self) -> dict[str, int]:
        """C_Login calls per token label over the tokens' lifetime in this process."""
        return {t.info.label: t.logins for t in self._tokens.values()}

    def warn(self, message: str) -> None:
        self.warnings.append(message)
        if self.on_warning is not None:
            self.on_warning(message)
        else:
            log.warning("%s", message)

    def close(self) -> None:
        """Release this pool's tokens; a token no other pool holds is logged out and its
        sessions closed."""
        for key, login in self._tokens.items():
            login.refs -= 1
            if login.refs <= 0:
                login.close()
                _SHARED.pop(key, None)
        self._tokens.clear()

    def __enter__(self) -> TokenPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- modules and slots --------------------------------------------------------------
    def modules(self, module: str | None = None,
                uri_module_path: str | None = None) -> list[Module]:
        return self.registry.load_choice(choose_modules(module or self.module, uri_module_path))

    def slots(self, module: str | None = None) -> list[tuple[Module, list[SlotEntry]]]:
        """Every slot of every chosen module, with its token if one is present."""
        out = []
        for mod in self.modules(module):
            entries = []
            for slot in mod.get_slots():
                token, note = None, ""
                if slot.flags & SlotFlag.TOKEN_PRESENT:
                    try:
                        pk_token = slot.get_token()
                        if pk_token.flags & TokenFlag.TOKEN_INITIALIZED:
                            token = token_info(mod, pk_token)
                        else:
                            note = "token not initialised"
                    except p11.PKCS11Error as exc:
                        note = f"token unreadable ({type(exc).__name__})"
                else:
                    note = "no token"
                entries.append(SlotEntry(int(slot.slot_id), slot.slot_description.strip(),
                                         slot.manufacturer_id.strip(), token, note))
            out.append((mod, entries))
        return out

    # -- opening tokens -------------------------------------------------------------------
    def open(self, token: str | Pkcs11URI | None = None, *, module: str | None = None,
             pin_source: str | None = None) -> Token:
        """Open the one token selected by `token` (a PKCS#11 URI, a token label, or None for
        'the only token present'). PIN source precedence: the `pin_source` argument, the
        pool's default (the CLI's --pin-source), the URI's pin-source, then the prompt."""
        uri = token if isinstance(token, Pkcs11URI) else parse_uri(token or "pkcs11:")
        source = (parse_pin_source(pin_source) if pin_source
                  else self.pin_source if self.pin_source
                  else parse_pin_source(uri.pin_source) if uri.pin_source
                  else PinSource("prompt"))
        mod, pk_token = self._find(uri, module)
        info = token_info(mod, pk_token)
        key = (os.path.realpath(mod.path), info.serial, info.label)
        login = self._tokens.get(key)
        if login is None:
            login = _SHARED.get(key)
            if login is None:
                login = _SHARED[key] = TokenLogin(mod, pk_token)
            login.refs += 1
            self._tokens[key] = login
            for held in _HELD:
                if key not in held:
                    held[key] = login
                    login.refs += 1
        return Token(login, self, source, uri)

    def _find(self, uri: Pkcs11URI, module: str | None) -> tuple[Module, Any]:
        modules = self.modules(module, uri.module_path)
        present: list[TokenInfo] = []
        for mod in modules:
            if not uri.library_matches(manufacturer=mod.manufacturer,
                                       description=mod.description):
                continue
            matches = []
            for slot in mod.get_slots():
                if not slot.flags & SlotFlag.TOKEN_PRESENT:
                    continue
                try:
                    pk_token = slot.get_token()
                except p11.PKCS11Error:
                    continue
                if not pk_token.flags & TokenFlag.TOKEN_INITIALIZED:
                    continue
                info = token_info(mod, pk_token)
                present.append(info)
                if uri.slot_matches(slot_id=info.slot_id, description=info.slot_description,
                                    manufacturer=slot.manufacturer_id.strip()) and \
                        uri.token_matches(label=info.label, serial=info.serial,
                                          manufacturer=info.manufacturer, model=info.model):
                    matches.append((mod, pk_token, info))
            if len(matches) == 1:
                return matches[0][0], matches[0][1]
            if len(matches) > 1:
                listed = "; ".join(m[2].describe() for m in matches)
                if uri.selects_token:
                    raise TokenNotFoundError(f"{redact(str(uri))} matches {len(matches)} tokens "
                                             f"in {mod.path}: {listed}; add serial=... to "
                                             "the URI to choose one")
                raise TokenNotFoundError(f"several tokens are present in {mod.path}: {listed}; "
                                         "choose one with --token pkcs11:token=LABEL")
        where = ", ".join(m.path for m in modules)
        if not present:
            raise TokenNotFoundError(f"no token matches {redact(str(uri))}: no initialised "
                                     f"token is present (module {where}); insert the token or "
                                     "check --module")
        listed = "; ".join(f"{t.describe()} in {t.module}" for t in present)
        raise TokenNotFoundError(f"no token matches {redact(str(uri))}; tokens present: "
                                 f"{listed}")


_REGISTRY = ModuleRegistry()
# (module realpath, token serial, token label) -> the token's sessions in this process.
_SHARED: dict[tuple[str, str, str], TokenLogin] = {}
# Open keep_logins() scopes: each holds a reference on every token opened inside it.
_HELD: list[dict[tuple[str, str, str], TokenLogin]] = []


@contextlib.contextmanager
def keep_logins() -> Iterator[None]:
    """One login per token for everything run inside: a token opened by any pool in this scope
    stays logged in when that pool closes, so the next pool (the next step of a ceremony
    script) reuses the login instead of asking for the PIN and logging in again. At the end,
    tokens no pool holds any more are logged out."""
    held: dict[tuple[str, str, str], TokenLogin] = {}
    _HELD.append(held)
    try:
        yield
    finally:
        _HELD.remove(held)
        for key, login in held.items():
            login.refs -= 1
            if login.refs <= 0:
                login.close()
                _SHARED.pop(key, None)
_DEFAULT_POOL: TokenPool | None = None


def default_pool() -> TokenPool:
    """The process-wide pool `open_token` uses (one login per token per run)."""
    global _DEFAULT_POOL
    if _DEFAULT_POOL is None:
        import atexit
        _DEFAULT_POOL = TokenPool()
        atexit.register(_DEFAULT_POOL.close)
    return _DEFAULT_POOL


def open_token(token: str | Pkcs11URI | None = None, *, module: str | None = None,
               pin_source: str | None = None, pool: TokenPool | None = None) -> Token:
    """Open a token by PKCS#11 URI or label through `pool` (default: the process-wide pool)."""
    return (pool or default_pool()).open(token, module=module, pin_source=pin_source)
