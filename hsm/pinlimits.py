"""A token's PIN length limits (CK_TOKEN_INFO ulMinPinLen / ulMaxPinLen).

python-pkcs11 does not expose them, so they are read here through the module's own function
list (ctypes, the same loaded library, already initialised). They matter because some tokens
count a PIN of the wrong length as a failed attempt: openCryptoki's software token takes 4-8
characters and locks after three wrong PINs, a 12-character PIN included. Checking the length
first means a PIN that cannot be right costs no attempt.
"""

from __future__ import annotations

import ctypes
from ctypes import POINTER, Structure, byref, c_ubyte, c_ulong, c_void_p

CK_UNAVAILABLE_INFORMATION = ctypes.c_ulong(-1).value
_FUNCTIONS = ["C_Initialize", "C_Finalize", "C_GetInfo", "C_GetFunctionList", "C_GetSlotList",
              "C_GetSlotInfo", "C_GetTokenInfo"]


class CkVersion(Structure):  # CK_VERSION
    _fields_ = [("major", c_ubyte), ("minor", c_ubyte)]


class _FunctionList(Structure):
    _fields_ = [("version", CkVersion)] + [(name, c_void_p) for name in _FUNCTIONS]


class CkTokenInfo(Structure):  # CK_TOKEN_INFO (PKCS#11 2.40, section 3.2)
    _fields_ = [("label", c_ubyte * 32), ("manufacturerID", c_ubyte * 32),
                ("model", c_ubyte * 16), ("serialNumber", c_ubyte * 16), ("flags", c_ulong),
                ("ulMaxSessionCount", c_ulong), ("ulSessionCount", c_ulong),
                ("ulMaxRwSessionCount", c_ulong), ("ulRwSessionCount", c_ulong),
                ("ulMaxPinLen", c_ulong), ("ulMinPinLen", c_ulong),
                ("ulTotalPublicMemory", c_ulong), ("ulFreePublicMemory", c_ulong),
                ("ulTotalPrivateMemory", c_ulong), ("ulFreePrivateMemory", c_ulong),
                ("hardwareVersion", CkVersion), ("firmwareVersion", CkVersion),
                ("utcTime", c_ubyte * 16)]


def pin_limits(module_path: str, slot_id: int) -> tuple[int, int] | None:
    """(min, max) PIN length the token in `slot_id` reports, or None if it does not say.
    The module must already be initialised in this process (python-pkcs11 did it)."""
    try:
        dll = ctypes.CDLL(module_path)
        flist = POINTER(_FunctionList)()
        if dll.C_GetFunctionList(byref(flist)) != 0:
            return None
        get_info = ctypes.CFUNCTYPE(c_ulong, c_ulong, POINTER(CkTokenInfo))(
            flist.contents.C_GetTokenInfo)
        info = CkTokenInfo()
        if get_info(slot_id, byref(info)) != 0:
            return None
    except (OSError, AttributeError, ValueError):
        return None
    low, high = int(info.ulMinPinLen), int(info.ulMaxPinLen)
    if high in (0, CK_UNAVAILABLE_INFORMATION) or low > high:
        return None
    return low, high
