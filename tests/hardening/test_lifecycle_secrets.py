"""A full key lifecycle, then every byte it left behind searched for secrets.

One repository lives through init, signer add, rotate targets, rotate root (add a token),
renew root with certificate re-issue, and a co-signed rotation across two sites (partial,
status, pin, sign, merge), all with real SoftHSM tokens whose PINs are distinctive, and the
responses published to the real notary-server. Then:

- no PIN appears in any file written (workspaces, transcripts, requests, responses, partials,
  certificates, outputs) nor in any stdout/stderr, as plain text, hex (either case) or base64
  (standard and urlsafe, at every alignment, so a PIN inside a larger base64 blob is found);
- permissions: nothing under the workspaces or outputs is group- or world-writable, and the
  workspace and transcripts have the modes the code intends (docs/hardening.md, part 3);
- no PEM private key block anywhere.
"""

from __future__ import annotations

import base64
import os
import stat
import subprocess
from pathlib import Path

import pytest

from softhsm.env import TokenSpec, create_env
from tests.ceremonies.sites import (
    Site,
    fetch,
    init_repo,
    notary_server,
    published,
    root_ids,
    signed_file,
)
from tests.conftest import CliResult

pytestmark = pytest.mark.notary
GUN = "example.com/hardening/lifecycle"
# Distinctive, and different per token: a hit names the token that leaked.
PINS = {"root-a": "Pin-RootA-4e1c9a", "root-b": "Pin-RootB-77d03f", "targets": "Pin-Tgts-b52e18",
        "root-c": "Pin-RootC-c0ffee"}


class RecordingSite(Site):
    """A Site that keeps everything its commands printed."""

    def __init__(self, env, folder: Path, outputs: list[str]):
        super().__init__(env, folder)
        self.outputs = outputs

    def run(self, *args: str, input: str | None = None) -> CliResult:
        r = super().run(*args, input=input)
        self.outputs.append(r.stdout + r.stderr)
        return r


def encodings(pin: str) -> list[bytes]:
    """The PIN as plain text, hex and base64, as it could sit in a file or a larger blob."""
    raw = pin.encode()
    out = [raw, raw.hex().encode(), raw.hex().upper().encode()]
    for b64 in (base64.b64encode, base64.urlsafe_b64encode):
        for shift in range(3):  # inside a larger blob: only the whole groups are stable
            text = b64(b"\0" * shift + raw)
            out.append(text[4 if shift else 0:(shift + len(raw)) // 3 * 4])
        out.append(b64(raw).rstrip(b"="))
    return out


def _lifecycle(tmp: Path, notary) -> dict:
    outputs: list[str] = []
    env_a = create_env(tmp / "hsm-a", [TokenSpec(label, pin=PINS[label])
                                       for label in ("root-a", "root-b", "targets")])
    env_b = create_env(tmp / "hsm-b", [TokenSpec("root-c", pin=PINS["root-c"])])
    a = RecordingSite(env_a, tmp / "a", outputs)
    b = RecordingSite(env_b, tmp / "b", outputs)
    out = tmp / "out"
    out.mkdir(mode=0o755)

    # init, root certificates made for 120 days (inside the re-issue window)
    init_repo(a, notary, GUN, out, "root-a", extra=("--root-expires", "120d"))
    # signer add
    subprocess.run(["openssl", "ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out",
                    str(out / "alice.key")], check=True, capture_output=True)
    subprocess.run(["openssl", "ec", "-in", str(out / "alice.key"), "-pubout", "-out",
                    str(out / "alice.pub")], check=True, capture_output=True)
    (out / "alice.key").unlink()  # the delegate's own secret: not part of what is scanned
    (out / "alice.pub").chmod(0o644)  # made by openssl under umask 000, not by the tool
    req = fetch(notary, GUN, out / "signer.req", operation="signer-add")
    a.ok("signer", "add", GUN, "alice", "--key", str(out / "alice.pub"), "--request", str(req),
         "--out", str(out / "signer.resp"), "--targets-token", "targets", *a.pins("targets"),
         "--yes")
    published(notary, out / "signer.resp")
    # rotate targets
    req = fetch(notary, GUN, out / "rt.req", operation="rotate-targets")
    a.ok("rotate", "targets", GUN, "--request", str(req), "--out", str(out / "rt.resp"),
         "--targets-token", "targets", "--root-token", "root-a", "--label", "targets-2",
         *a.pins(), "--yes")
    published(notary, out / "rt.resp")
    # rotate root: add root-b
    req = fetch(notary, GUN, out / "rr.req", operation="rotate-root")
    a.ok("rotate", "root", GUN, "--request", str(req), "--out", str(out / "rr.resp"),
         "--root-token", "root-a", "--add-token", "root-b", *a.pins(), "--yes")
    published(notary, out / "rr.resp")
    # renew root, re-issuing the certificates on both tokens
    req = fetch(notary, GUN, out / "renew.req", operation="renew")
    r = a.run("renew", GUN, "--role", "root", "--request", str(req), "--out",
              str(out / "renew.resp"), "--root-token", "root-a", "--root-token", "root-b",
              "--reissue-certs", *a.pins(), input="yes\n")
    assert r.returncode == 0 and "RE-ISSUED" in r.stdout, r.output
    published(notary, out / "renew.resp")
    ids = root_ids(out / "renew.resp", GUN)
    # co-signing: site B makes a root key and certificate, pins the repository ...
    r = b.run("key", "generate", "--token", "root-c", "--label", "root", "--pin-source",
              env_b.pin_source("root-c"))
    assert r.returncode == 0, r.output
    cert = b.ok("key", "cert", "--token", "root-c", "--label", "root", "--gun", GUN, "--out",
                str(out / "root-c.pem"), "--pin-source", env_b.pin_source("root-c"))
    req = fetch(notary, GUN, out / "pin.req", operation="pin")
    b.ok("pin", GUN, "--request", str(req), "--root-cert-id", ids[0])
    # ... site A rotates to 3-of-3 with B's certificate: a partial, B signs, A merges
    req = fetch(notary, GUN, out / "co.req", operation="rotate-root")
    a.ok("rotate", "root", GUN, "--request", str(req), "--out", str(out / "partial.resp"),
         "--root-token", "root-a", "--root-token", "root-b", "--add-cert",
         str(out / "root-c.pem"), "--root-threshold", "3", *a.pins(), "--yes", "--partial")
    a.ok("status", str(out / "partial.resp"))
    b.ok("status", str(out / "partial.resp"))
    r = b.run("sign", str(out / "partial.resp"), "--token", "root-c", "--out",
              str(out / "signed.resp"), *b.pins("root-c"), input="yes\n")
    assert r.returncode == 0, r.output
    assert a.ok("merge", str(out / "partial.resp"), str(out / "signed.resp"), "--out",
                str(out / "merged.resp"))["complete"]
    published(notary, out / "merged.resp")
    root = signed_file(out / "merged.resp", GUN, "root")["signed"]
    assert cert["cert_key_id"] in root["roles"]["root"]["keyids"]
    assert root["roles"]["root"]["threshold"] == 3
    return {"outputs": outputs, "folders": [a.workspace, b.workspace, out],
            "workspaces": [a.workspace, b.workspace], "count": len(outputs)}


@pytest.fixture(scope="module")
def done(tmp_path_factory):
    """The lifecycle, run with umask 000: the modes found are the ones the code sets itself."""
    for notary in notary_server(tmp_path_factory):
        tmp = tmp_path_factory.mktemp("lifecycle")
        old = os.umask(0)
        try:
            for site in ("a", "b"):  # the sites' folders are the test's (0755, like a home)
                (tmp / site).mkdir(mode=0o755)
            yield _lifecycle(tmp, notary)
        finally:
            os.umask(old)


def files_under(*folders: Path) -> list[Path]:
    return [p for folder in folders for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.is_symlink()]


def test_no_pin_in_any_file_or_output_of_a_full_lifecycle(done):
    assert done["count"] == 13  # every offline command above was recorded
    needles = {label: encodings(pin) for label, pin in PINS.items()}
    files = files_under(*done["folders"])
    assert any("transcripts" in p.parts for p in files) and len(files) > 30
    hits = []
    for label, forms in needles.items():
        for n, text in enumerate(done["outputs"]):
            data = text.encode()
            hits += [f"output {n}: {label} as {form!r}" for form in forms if form in data]
        for path in files:
            data = path.read_bytes()
            hits += [f"{path}: {label} as {form!r}" for form in forms if form in data]
    assert not hits, "\n".join(hits)


def test_modes_and_no_private_key_after_a_full_lifecycle(done):
    wrong = []
    for folder in done["folders"]:
        for path in [folder, *sorted(folder.rglob("*"))]:
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            mode = stat.S_IMODE(st.st_mode)
            if mode & 0o022:
                wrong.append(f"{path}: {mode:o} is group- or world-writable")
            if path.is_file() and b"PRIVATE KEY" in path.read_bytes():
                wrong.append(f"{path}: holds a PEM private key block")
    for ws in done["workspaces"]:
        # public trust data, readable by all, written by the tool only: 0644 files, 0755 dirs
        for path in [ws, *sorted(ws.rglob("*"))]:
            st = path.lstat()
            if stat.S_ISLNK(st.st_mode):
                continue
            want = 0o755 if stat.S_ISDIR(st.st_mode) else 0o644
            if stat.S_IMODE(st.st_mode) != want:
                wrong.append(f"{path}: {stat.S_IMODE(st.st_mode):o}, intended {want:o}")
        assert len(list((ws / "transcripts").glob("*.jsonl"))) >= 2
    assert not wrong, "\n".join(wrong)
