"""Finding and loading PKCS#11 modules; every failure is one line naming the paths tried."""

from __future__ import annotations

import ctypes.util
import os

from hsm.module import ENV_MODULE, choose_modules, well_known_modules
from tests.conftest import run_cli
from tests.hsm.conftest import assert_one_line_error

NO_MODULE_ENV = {ENV_MODULE: "", "CEREMONY_PKCS11_SEARCH": ""}


def test_well_known_order_softhsm_opensc_ykcs11(monkeypatch):
    monkeypatch.delenv("CEREMONY_PKCS11_SEARCH", raising=False)
    paths = well_known_modules()
    first = {name: next(i for i, p in enumerate(paths) if name in p)
             for name in ("softhsm2", "opensc-pkcs11", "ykcs11")}
    assert first["softhsm2"] < first["opensc-pkcs11"] < first["ykcs11"]


def test_precedence(monkeypatch):
    monkeypatch.setenv(ENV_MODULE, "/from/env.so")
    assert choose_modules("/from/flag.so", "/from/uri.so").paths == ["/from/flag.so"]
    assert choose_modules(None, "/from/uri.so").paths == ["/from/env.so"]
    monkeypatch.delenv(ENV_MODULE)
    choice = choose_modules(None, "/from/uri.so")
    assert choice.paths == ["/from/uri.so"] and choice.origin == "URI module-path"
    assert choose_modules(None, None).origin == "well-known"


def test_bad_module_path_is_one_line():
    r = run_cli("token", "list", "--module", "/nonexistent/libnothing.so")
    assert_one_line_error(r, "/nonexistent/libnothing.so", "file not found", "--module")


def test_env_module_path_is_named(tmp_path):
    r = run_cli("token", "list", env={ENV_MODULE: str(tmp_path / "gone.so")})
    assert_one_line_error(r, str(tmp_path / "gone.so"), f"${ENV_MODULE}")


def test_nothing_found_names_every_path_tried(tmp_path):
    tried = [str(tmp_path / "a" / "libsofthsm2.so"), str(tmp_path / "opensc-pkcs11.so"),
             str(tmp_path / "libykcs11.so")]
    r = run_cli("token", "list", env={ENV_MODULE: "", "CEREMONY_PKCS11_SEARCH": ":".join(tried)})
    line = assert_one_line_error(r, "no PKCS#11 module found", *tried)
    assert "--module" in line


def test_not_a_module(tmp_path):
    fake = tmp_path / "fake.so"
    fake.write_bytes(b"not an ELF file")
    assert_one_line_error(run_cli("token", "list", "--module", str(fake)), "not a shared library")
    libc = ctypes.util.find_library("c")
    candidates = [p for p in (f"/lib/x86_64-linux-gnu/{libc}", f"/usr/lib/x86_64-linux-gnu/{libc}",
                              f"/lib64/{libc}", f"/usr/lib/{libc}") if libc and os.path.exists(p)]
    if candidates:  # a real shared library that is not a PKCS#11 module
        assert_one_line_error(run_cli("token", "list", "--module", candidates[0]),
                              "not a PKCS#11 module")


def test_uri_module_path_is_used(cli_env, tmp_path):
    uri = f"pkcs11:token=root-a?module-path={cli_env.module}"
    r = run_cli("key", "export", "--token", uri, "--label", "missing", "--pin-source",
                cli_env.pin_source("root-a"),
                env={**NO_MODULE_ENV, "SOFTHSM2_CONF": str(cli_env.conf)})
    # The module was found through the URI: the error is about the key, not the module.
    assert_one_line_error(r, "token 'root-a' has no key with label 'missing'")


def test_broken_softhsm_configuration_is_explained(cli_env, tmp_path):
    r = run_cli("token", "list", env={**cli_env.env,
                                      "SOFTHSM2_CONF": str(tmp_path / "missing.conf")})
    assert_one_line_error(r, "C_Initialize failed", "SOFTHSM2_CONF")
