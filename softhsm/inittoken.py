"""Initialise SoftHSM tokens through PKCS#11 itself (C_InitToken, C_InitPIN).

python-pkcs11 does not wrap C_InitToken, and `softhsm2-util --init-token` only takes PINs on its
command line, where any user can read them in the process table. So this module calls the
module's function list through ctypes. It runs as its own process
(`python -m softhsm.inittoken`, PINs as JSON on stdin, SOFTHSM2_CONF in the environment) so that
the caller's PKCS#11 state is untouched and SoftHSM reads the throwaway configuration.

It initialises throwaway tokens only: SoftHSM under a SOFTHSM2_CONF, a TPM 2.0 token store under
TPM2_PKCS11_STORE (softhsm/tpm.py), and openCryptoki's software token while the test
environment of softhsm/opencryptoki.py owns it (CEREMONY_OPENCRYPTOKI_THROWAWAY names its lock
file). Any other module is refused. Real tokens are never initialised by this project.
"""

from __future__ import annotations

import ctypes
import json
import os
import sys
from collections.abc import Callable, Iterator
from ctypes import POINTER, Structure, byref, c_char_p, c_ubyte, c_ulong, c_void_p

from hsm.pinlimits import CkTokenInfo, CkVersion

CKR_OK = 0
CKF_RW_SESSION = 0x2
CKF_SERIAL_SESSION = 0x4
CKF_TOKEN_INITIALIZED = 0x400
CKU_SO = 0
CKU_USER = 1

# The head of CK_FUNCTION_LIST, in the order of the PKCS#11 specification (pkcs11f.h).
_FUNCTIONS = ["C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList", "C_GetSlotList",
              "C_GetSlotInfo", "C_GetTokenInfo", "C_GetMechanismList", "C_GetMechanismInfo",
              "C_InitToken", "C_InitPIN", "C_SetPIN", "C_OpenSession", "C_CloseSession",
              "C_CloseAllSessions", "C_GetSessionInfo", "C_GetOperationState",
              "C_SetOperationState", "C_Login", "C_Logout"]


class _FunctionList(Structure):
    _fields_ = [("version", CkVersion)] + [(name, c_void_p) for name in _FUNCTIONS]


class InitError(Exception):
    pass


class _Module:
    def __init__(self, path: str) -> None:
        self._dll = ctypes.CDLL(path)
        flist = POINTER(_FunctionList)()
        self._check("C_GetFunctionList", self._dll.C_GetFunctionList(byref(flist)))
        self._fl = flist.contents

    @staticmethod
    def _check(name: str, rv: int) -> None:
        if rv != CKR_OK:
            raise InitError(f"{name} failed with CKR 0x{rv:08x}")

    def call(self, name: str, argtypes: list[object], *args: object) -> None:
        func = ctypes.CFUNCTYPE(c_ulong, *argtypes)(getattr(self._fl, name))
        self._check(name, func(*args))

    def tokens(self) -> Iterator[tuple[int, CkTokenInfo]]:
        """(slot, CK_TOKEN_INFO) of every slot with a token present."""
        count = c_ulong(0)
        self.call("C_GetSlotList", [c_ubyte, c_void_p, POINTER(c_ulong)], 1, None, byref(count))
        slots = (c_ulong * count.value)()
        self.call("C_GetSlotList", [c_ubyte, c_void_p, POINTER(c_ulong)], 1, slots, byref(count))
        for slot in slots[:count.value]:
            info = CkTokenInfo()
            self.call("C_GetTokenInfo", [c_ulong, POINTER(CkTokenInfo)], slot, byref(info))
            yield int(slot), info

    def free_slot(self) -> int:
        for slot, info in self.tokens():
            if not info.flags & CKF_TOKEN_INITIALIZED:
                return slot
        raise InitError("SoftHSM offers no free slot")

    def labels(self) -> list[str]:
        out = []
        for _, info in self.tokens():
            if info.flags & CKF_TOKEN_INITIALIZED:
                out.append(bytes(info.label).decode("utf-8", "replace").rstrip())
        return out

    def init_token(self, label: str, pin: str, so_pin: str,
                   factory_so_pin: str | None = None) -> None:
        """C_InitToken + C_InitPIN. `factory_so_pin`: a module whose SO PIN is preset
        (openCryptoki: 87654321) is initialised with it, then the SO PIN is changed."""
        slot = self.free_slot()
        raw_label = label.encode("utf-8")
        if len(raw_label) > 32:
            raise InitError(f"token label {label!r} is longer than 32 bytes")
        so = so_pin.encode("utf-8")
        user = pin.encode("utf-8")
        first_so = factory_so_pin.encode("utf-8") if factory_so_pin else so
        self.call("C_InitToken", [c_ulong, c_char_p, c_ulong, c_char_p], slot, first_so,
                  len(first_so), raw_label.ljust(32, b" "))
        if factory_so_pin:
            self._with_login(slot, CKU_SO, first_so, lambda s: self.call(
                "C_SetPIN", [c_ulong, c_char_p, c_ulong, c_char_p, c_ulong], s, first_so,
                len(first_so), so, len(so)))
        session = c_ulong(0)
        self.call("C_OpenSession", [c_ulong, c_ulong, c_void_p, c_void_p, POINTER(c_ulong)],
                  slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, None, None, byref(session))
        try:
            self.call("C_Login", [c_ulong, c_ulong, c_char_p, c_ulong], session, CKU_SO, so,
                      len(so))
            self.call("C_InitPIN", [c_ulong, c_char_p, c_ulong], session, user, len(user))
            self.call("C_Logout", [c_ulong], session)
        finally:
            self.call("C_CloseSession", [c_ulong], session)

    def slot_of(self, label: str) -> int:
        for slot, info in self.tokens():
            if bytes(info.label).decode("utf-8", "replace").rstrip() == label:
                return slot
        raise InitError(f"no token labelled {label!r}")

    def reset_user_pin(self, label: str, pin: str, so_pin: str) -> None:
        """What a security officer does to unblock a locked user PIN: C_InitPIN as SO."""
        user = pin.encode("utf-8")
        self._with_login(self.slot_of(label), CKU_SO, so_pin.encode("utf-8"), lambda s: self.call(
            "C_InitPIN", [c_ulong, c_char_p, c_ulong], s, user, len(user)))

    def change_pins(self, label: str, old_pin: str, pin: str, old_so_pin: str,
                    so_pin: str) -> None:
        """C_SetPIN for the user and the SO (each logged in with the old PIN)."""
        slot = self.slot_of(label)
        for user_type, old, new in ((CKU_USER, old_pin, pin), (CKU_SO, old_so_pin, so_pin)):
            old_b, new_b = old.encode("utf-8"), new.encode("utf-8")
            self._with_login(slot, user_type, old_b, lambda s, o=old_b, n=new_b: self.call(
                "C_SetPIN", [c_ulong, c_char_p, c_ulong, c_char_p, c_ulong], s, o, len(o), n,
                len(n)))

    def _with_login(self, slot: int, user_type: int, pin: bytes,
                    action: Callable[[c_ulong], None]) -> None:
        session = c_ulong(0)
        self.call("C_OpenSession", [c_ulong, c_ulong, c_void_p, c_void_p, POINTER(c_ulong)],
                  slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, None, None, byref(session))
        try:
            self.call("C_Login", [c_ulong, c_ulong, c_char_p, c_ulong], session, user_type, pin,
                      len(pin))
            action(session)
            self.call("C_Logout", [c_ulong], session)
        finally:
            self.call("C_CloseSession", [c_ulong], session)


# Module file name (lower case) -> the variable that must point at its throwaway state.
THROWAWAY_GUARDS = {"softhsm": "SOFTHSM2_CONF", "tpm2_pkcs11": "TPM2_PKCS11_STORE",
                    "opencryptoki": "CEREMONY_OPENCRYPTOKI_THROWAWAY"}


def _guard(module_path: str) -> str:
    name = os.path.basename(os.path.realpath(module_path)).lower()
    for key, variable in THROWAWAY_GUARDS.items():
        if key in name:
            return variable
    raise InitError(f"refusing to initialise tokens of {module_path}: only SoftHSM "
                    "rehearsal tokens and the throwaway TPM/openCryptoki test tokens are "
                    "initialised by this tool")


def init_tokens(module_path: str, tokens: list[dict[str, str]],
                resets: list[dict[str, str]] | None = None,
                changes: list[dict[str, str]] | None = None) -> None:
    """Initialise each {"label","pin","so_pin"[,"factory_so_pin"]} in a free slot (this
    process only). `resets`: {"label","pin","so_pin"} whose user PIN the SO sets again
    (unblocks a locked PIN); `changes`: {"label","old_pin","pin","old_so_pin","so_pin"} whose
    user and SO PINs are changed (C_SetPIN)."""
    resets, changes = resets or [], changes or []
    variable = _guard(module_path)
    if not os.environ.get(variable):
        raise InitError(f"refusing to initialise tokens without {variable} pointing at a "
                        "throwaway configuration (the system token store is never touched)")
    module = _Module(module_path)
    module.call("C_Initialize", [c_void_p], None)
    try:
        existing = set(module.labels())
        for spec in resets:
            module.reset_user_pin(spec["label"], spec["pin"], spec["so_pin"])
        for spec in changes:
            module.change_pins(spec["label"], spec["old_pin"], spec["pin"], spec["old_so_pin"],
                               spec["so_pin"])
        for spec in tokens:
            if spec["label"] in existing:
                raise InitError(f"a token labelled {spec['label']!r} already exists here")
            module.init_token(spec["label"], spec["pin"], spec["so_pin"],
                              spec.get("factory_so_pin"))
            existing.add(spec["label"])
    finally:
        module.call("C_Finalize", [c_void_p], None)


def main() -> int:
    try:
        request = json.loads(sys.stdin.read())
        init_tokens(request["module"], request.get("tokens", []), request.get("resets"),
                    request.get("changes"))
    except (InitError, OSError, KeyError, ValueError) as exc:
        # Never echo the request: it holds PINs.
        print(f"error: {type(exc).__name__}: {exc}" if isinstance(exc, InitError)
              else f"error: bad request or module ({type(exc).__name__})", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
