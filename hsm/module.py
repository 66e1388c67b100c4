"""Finding and loading PKCS#11 modules (the .so a token vendor ships).

Order: an explicit path (--module), else $CEREMONY_PKCS11_MODULE, else the URI's module-path,
else every well-known location that exists (SoftHSM, OpenSC, ykcs11), searched in that order.
$CEREMONY_PKCS11_SEARCH (paths separated by ':') replaces the well-known list, e.g. on a
distribution that installs modules elsewhere.
"""

from __future__ import annotations

import os
import sys
import sysconfig
from dataclasses import dataclass, field

import pkcs11
from pkcs11.exceptions import PKCS11Error

from hsm.errors import ModuleError

ENV_MODULE = "CEREMONY_PKCS11_MODULE"
ENV_SEARCH = "CEREMONY_PKCS11_SEARCH"


def _lib_dirs() -> list[str]:
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    dirs = []
    if multiarch:
        dirs.append(f"/usr/lib/{multiarch}")
    dirs += ["/usr/lib64", "/usr/lib", "/usr/local/lib", "/opt/homebrew/lib"]
    return dirs


def well_known_modules() -> list[str]:
    """Candidate module paths, most specific first: SoftHSM, then OpenSC, then ykcs11."""
    if os.environ.get(ENV_SEARCH):
        return [p for p in os.environ[ENV_SEARCH].split(":") if p]
    ext = ".dylib" if sys.platform == "darwin" else ".so"
    out: list[str] = []
    dirs = _lib_dirs()
    for d in dirs:
        out += [f"{d}/softhsm/libsofthsm2{ext}", f"{d}/libsofthsm2{ext}"]
    for d in dirs:
        out += [f"{d}/opensc-pkcs11{ext}", f"{d}/pkcs11/opensc-pkcs11{ext}"]
    out.append("/Library/OpenSC/lib/opensc-pkcs11.so")
    for d in dirs:
        out += [f"{d}/libykcs11{ext}"]
    seen: set[str] = set()
    return [p for p in out if not (p in seen or seen.add(p))]


@dataclass(frozen=True)
class ModuleChoice:
    """The module paths to try and why: 'explicit' paths are the only candidates."""

    paths: list[str]
    origin: str  # "--module", "$CEREMONY_PKCS11_MODULE", "URI module-path", "well-known"

    @property
    def explicit(self) -> bool:
        return self.origin != "well-known"


def choose_modules(explicit: str | None = None, uri_module_path: str | None = None) -> ModuleChoice:
    if explicit:
        return ModuleChoice([explicit], "--module")
    if os.environ.get(ENV_MODULE):
        return ModuleChoice([os.environ[ENV_MODULE]], f"${ENV_MODULE}")
    if uri_module_path:
        return ModuleChoice([uri_module_path], "URI module-path")
    return ModuleChoice(well_known_modules(), "well-known")


@dataclass
class Module:
    """A loaded, initialised PKCS#11 module."""

    path: str
    lib: pkcs11.lib = field(repr=False)

    @property
    def manufacturer(self) -> str:
        return self.lib.manufacturer_id.strip()

    @property
    def description(self) -> str:
        return self.lib.library_description.strip()

    def get_slots(self) -> list[pkcs11.Slot]:
        try:
            return list(self.lib.get_slots())
        except PKCS11Error as exc:
            raise ModuleError(f"PKCS#11 module {self.path} failed to list its slots "
                              f"({type(exc).__name__})") from None


class ModuleRegistry:
    """Loads each module once per process (PKCS#11 allows one C_Initialize per process)."""

    def __init__(self) -> None:
        self._loaded: dict[str, Module] = {}

    def load(self, path: str) -> Module:
        real = os.path.realpath(path)
        if real in self._loaded:
            return self._loaded[real]
        problem = _why_not_loadable(path)
        if problem:
            raise ModuleError(f"cannot load PKCS#11 module {path}: {problem}")
        try:
            # python-pkcs11 caches by the path string: use the one given, as other code in
            # this process (tests, benchmarks) will, so the module is initialised only once.
            lib = pkcs11.lib(path)
        except PKCS11Error as exc:
            reason = _describe_load_error(exc, real)
            raise ModuleError(f"cannot load PKCS#11 module {path}: {reason}") from None
        module = Module(path=path, lib=lib)
        self._loaded[real] = module
        return module

    def load_choice(self, choice: ModuleChoice) -> list[Module]:
        """Load the chosen module(s). Well-known paths that are absent are skipped; if none
        loads, one error names every path tried and why each failed."""
        modules: list[Module] = []
        tried: list[str] = []
        for path in choice.paths:
            try:
                module = self.load(path)
                if all(m.lib is not module.lib for m in modules):  # symlinks to one file
                    modules.append(module)
            except ModuleError as exc:
                tried.append(f"{path} ({_short_reason(str(exc))})")
                if choice.explicit:
                    raise ModuleError(f"{exc} (from {choice.origin})") from None
        if not modules:
            raise ModuleError(
                "no PKCS#11 module found; tried: " + ", ".join(tried) + ". Install SoftHSM, "
                f"OpenSC or your token's module, or give --module PATH / ${ENV_MODULE}")
        return modules

    def loaded(self) -> list[Module]:
        return list(self._loaded.values())


def _why_not_loadable(path: str) -> str | None:
    if not os.path.exists(path):
        return "file not found"
    if os.path.isdir(path):
        return "it is a directory, not a module file"
    if not os.access(path, os.R_OK):
        return "file not readable (permission denied)"
    return None


def _describe_load_error(exc: PKCS11Error, path: str) -> str:
    text = " ".join(str(exc).split())
    if "C_GetFunctionList" in text:
        return "not a PKCS#11 module (no C_GetFunctionList)"
    if "invalid ELF header" in text or "file too short" in text:
        return "not a shared library"
    if text.startswith("OS exception while loading"):
        return text.split(": ", 2)[-1]
    name = type(exc).__name__
    if "softhsm" in os.path.basename(path).lower():
        conf = os.environ.get("SOFTHSM2_CONF", "/etc/softhsm/softhsm2.conf")
        return (f"C_Initialize failed ({name}); check the SoftHSM configuration {conf} "
                "(SOFTHSM2_CONF) and that its token directory exists and is writable")
    return f"C_Initialize failed ({name})"


def _short_reason(message: str) -> str:
    return message.split(": ", 1)[-1] if ": " in message else message
