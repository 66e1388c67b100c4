"""User documentation stands alone (issue 9, item 10): nothing in the repository -- docs,
code, comments, runbooks -- points at files that are not in it (the project's private notes),
and the facts users need are in docs/ instead. pip install prints no deprecation of ours."""

from __future__ import annotations

import subprocess

from tests.conftest import ROOT

# Built from pieces so that this file does not name them itself.
PRIVATE = ["NOTARY" + "-COMPAT", "DESIGN" + ".md", "../" + "shared", "/work/" + "shared",
           "TUF" + "-COMPAT", "NOTATION" + "-COMPAT", "QR" + "-TRANSFER", "PKCS11" + "-MODULES"]


def test_nothing_links_files_outside_the_repository():
    files = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True,
                           check=True).stdout.split()
    found = []
    for name in files:
        path = ROOT / name
        if not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="replace")
        found += [f"{name}: {word}" for word in PRIVATE if word in text]
    assert found == []


def test_the_facts_are_in_docs():
    verify = (ROOT / "docs" / "verify.md").read_text()
    for fact in ("Rotation rule", "trust_pinning", "ceremony pins", "Default lifetimes",
                 "Durations", "Server API", "Pin these (distribute to every verifier of GUN):"):
        assert fact in verify, fact


def test_license_is_an_spdx_string():
    text = (ROOT / "pyproject.toml").read_text()
    assert 'license = "Apache-2.0"' in text and "setuptools>=77" in text
