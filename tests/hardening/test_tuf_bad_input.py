"""The bad-input catalogue's TUF 1.0 section: malformed and hostile metadata for
`ceremony tuf verify` (and `ceremony verify`, which detects TUF) and `ceremony tuf sign`.

Each row runs the real CLI in a subprocess through the catalogue's `run_case`
(tests/hardening/catalogue.py): one `error:` line naming the problem, exit status 1 (2 for a
usage error), no traceback, bounded memory and time, and not a byte written or changed in
the case folder or the SoftHSM token store. `sign` cases run air-gapped, with a real token
that holds a key the proposed root lists, so a refusal is the input's doing, not a missing
key's.

Hostile files that must pass the signature checks to reach the code under test are signed
again ("resealed") with the repository's own keys: a malicious repository owner makes them.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ceremony.tuf.canonical import encode_canonical
from tests.conftest import AIRGAPPED, run_cli
from tests.hardening.catalogue import Case, Invocation, run_case
from tests.tuf.pytuf_repo import PyTufRepository, token_key

TOKEN = "tuf-hostile"
KEY_LABEL = "tuf-root"
HUGE = 100 * 1024 * 1024 + 1  # one byte over the metadata bound (ceremony/tuf/files.py)


@dataclass
class TufInputs:
    """Good inputs the cases break, made once: a python-tuf repository (its files and the
    keys that sign them), a token key, and root v2 proposing that token key as a root key."""

    files: dict[str, bytes]
    signers: dict[str, list[Any]]
    proposed_root: bytes
    token_key: dict[str, Any]
    hsm_env: dict[str, str]
    hsm_root: Path
    pin_source: str
    current: dict[str, str] = field(default_factory=dict)  # role -> its newest file name


# --- how a bad input reaches its command --------------------------------------------------------

Change = Callable[[TufInputs], dict[str, bytes]]


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _huge(path: Path) -> None:
    """A file one byte over the bound, sparse (no disk filled to test it)."""
    with open(path, "r+b") as fh:
        fh.truncate(HUGE)


def verify(change: Change, *extra: str, command: tuple[str, ...] = ("tuf", "verify"),
           huge: str | None = None) -> Callable[[TufInputs, Path], Invocation]:
    """The repository's metadata folder, files replaced by `change`, verified."""
    def run(i: TufInputs, work: Path) -> Invocation:
        files = {**i.files, **change(i)}
        for name, data in files.items():
            _write(work / "m" / name, data)
        if huge:
            _huge(work / "m" / huge)
        return Invocation((*command, str(work / "m"), *extra))
    return run


def sign(proposed: Callable[[TufInputs], bytes], *extra: str,
         trusted: Callable[[TufInputs], bytes] | None = None, huge: str | None = None,
         extra_files: dict[str, Callable[[TufInputs], bytes]] | None = None
         ) -> Callable[[TufInputs, Path], Invocation]:
    """`tuf sign` of a proposed file against the trusted root v1, on the offline machine
    (`@NAME` in `extra` is a file of the case folder, made by `extra_files`)."""
    def run(i: TufInputs, work: Path) -> Invocation:
        for name, make in (extra_files or {}).items():
            _write(work / name, make(i))
        p = _write(work / "proposed.json", proposed(i))
        t = _write(work / "trusted.json",
                   trusted(i) if trusted else i.files["1.root.json"])
        if huge:
            _huge(work / huge)
        flat = tuple(str(work / a[1:]) if a.startswith("@") else a for a in extra)
        return Invocation(("tuf", "sign", str(p), "--trusted", str(t), "--token", TOKEN,
                           "--pin-source", f"{TOKEN}={i.pin_source}", "--out",
                           str(work / "out.json"), "--yes", *flat),
                          hsm=True, wrapper=AIRGAPPED)
    return run


# --- what breaks an input ------------------------------------------------------------------------

def raw(name: str, old: bytes, new: bytes) -> Change:
    """A text edit of one file (not signed again: the reader must refuse it first)."""
    def change(i: TufInputs) -> dict[str, bytes]:
        data = i.files[name]
        assert old in data, (name, old)
        return {name: data.replace(old, new, 1)}
    return change


def replaced(name: str, data: bytes) -> Change:
    return lambda i: {name: data}


def seal(data: dict[str, Any], signers: list[Any]) -> bytes:
    """`data` (a metadata object) signed again over its canonical `signed`."""
    payload = encode_canonical(data["signed"])
    data["signatures"] = [{"keyid": s.public_key.keyid, "sig": s.sign(payload).signature}
                          for s in signers]
    return json.dumps(data, indent=1, sort_keys=True).encode()


def resealed(role: str, edit: Callable[[dict[str, Any]], None],
             names: tuple[str, ...] = ()) -> Change:
    """The role's newest file (and `names`, copies of it) with `signed` edited and signed
    again by the role's own keys."""
    def change(i: TufInputs) -> dict[str, bytes]:
        name = i.current[role]
        data = json.loads(i.files[name])
        edit(data["signed"])
        sealed = seal(data, i.signers[role])
        return {n: sealed for n in (name, *names)}
    return change


def root_edit(edit: Callable[[dict[str, Any]], None]) -> Change:
    return resealed("root", edit, ("root.json",))


def proposed(edit: Callable[[dict[str, Any]], None] | None = None,
             text: tuple[bytes, bytes] | None = None) -> Callable[[TufInputs], bytes]:
    """Root v2 as proposed (listing the token key), edited (its old signatures go stale and
    are dropped, as in any co-signing round) or changed as text."""
    def make(i: TufInputs) -> bytes:
        if text is not None:
            assert text[0] in i.proposed_root
            return i.proposed_root.replace(text[0], text[1], 1)
        data = json.loads(i.proposed_root)
        if edit is not None:
            edit(data["signed"])
        return json.dumps(data, indent=1, sort_keys=True).encode()
    return make


def timestamp_key(s: dict[str, Any]) -> dict[str, Any]:
    return s["keys"][s["roles"]["timestamp"]["keyids"][0]]


def same_key_twice(role: str, threshold: int = 2) -> Callable[[dict[str, Any]], None]:
    """`role`'s first key listed again under a second key ID; threshold 2."""
    def edit(s: dict[str, Any]) -> None:
        first = s["roles"][role]["keyids"][0]
        s["keys"]["f" * 64] = copy.deepcopy(s["keys"][first])
        s["roles"][role]["keyids"].append("f" * 64)
        s["roles"][role]["threshold"] = threshold
    return edit


def twice_signed_timestamp(i: TufInputs) -> dict[str, bytes]:
    """The timestamp key listed under two key IDs (threshold 2) and timestamp.json carrying
    its one signature under both: one key holder meeting a threshold of two."""
    out = root_edit(same_key_twice("timestamp"))(i)
    data = json.loads(i.files["timestamp.json"])
    data["signatures"].append({"keyid": "f" * 64, "sig": data["signatures"][0]["sig"]})
    out["timestamp.json"] = json.dumps(data).encode()
    return out


def add_target(name: str, hashes: dict[str, str] | None = None
               ) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        s["targets"][name] = {"length": 1, "hashes": hashes or {"sha256": "00" * 32}}
    return edit


def deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def deep_field(n: int) -> Callable[[TufInputs], dict[str, bytes]]:
    """timestamp.json with an unknown field nested `n` deep (an allowed place for anything)."""
    return raw("timestamp.json", b'"_type"', b'"x": ' + deep(n) + b', "_type"')


def bins(bit_length: int) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        role = s["delegations"].pop("roles")[0]
        s["delegations"]["succinct_roles"] = {"keyids": role["keyids"], "threshold": 1,
                                              "bit_length": bit_length, "name_prefix": "bin"}
    return edit


def set_in(*path_value: Any) -> Callable[[dict[str, Any]], None]:
    *path, value = path_value

    def edit(s: dict[str, Any]) -> None:
        node = s
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
    return edit


def role_set(role: str, key: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        s["roles"][role][key] = value
    return edit


def key_set(role: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def edit(s: dict[str, Any]) -> None:
        s["keys"][s["roles"][role]["keyids"][0]].update(fields)
    return edit


BAD_PEM = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
TS = b'"_type": "timestamp"'

# --- the catalogue -------------------------------------------------------------------------------

C = Case
TUF_CATALOGUE: list[Case] = [
    # JSON itself
    C("tuf-float", "tuf-verify", verify(raw("timestamp.json", b'"version": 1', b'"version": 1.0')),
      "fraction or exponent"),
    C("tuf-exponent", "tuf-verify", verify(raw("timestamp.json", b'"version": 1',
                                               b'"version": 1e3')), "fraction or exponent"),
    C("tuf-nan", "tuf-verify", verify(raw("timestamp.json", b'"version": 1', b'"version": NaN')),
      "not a JSON number"),
    C("tuf-duplicate-key", "tuf-verify",
      verify(raw("timestamp.json", TS, TS + b', "_type": "timestamp"')), "duplicate key '_type'"),
    C("tuf-duplicate-key-signed", "tuf-verify",
      verify(raw("timestamp.json", b'"signed": {', b'"signed": {}, "signed": {')),
      "duplicate key 'signed'"),
    C("tuf-huge-number", "tuf-verify",
      verify(raw("timestamp.json", b'"version": 1', b'"version": 1' + b"0" * 5000)),
      "is too large"),
    C("tuf-huge-length", "tuf-verify",
      verify(resealed("timestamp", set_in("meta", "snapshot.json", "length", 2 ** 62))),
      "but timestamp says 4611686018427387904"),
    C("tuf-negative-version", "tuf-verify", verify(resealed("timestamp", set_in("version", -1))),
      "version: must be at least 1, got -1"),
    C("tuf-bool-version", "tuf-verify", verify(resealed("timestamp", set_in("version", True))),
      "expected an integer >= 1, got a boolean"),
    C("tuf-not-utf8", "tuf-verify", verify(raw("timestamp.json", b'"timestamp"', b'"\xff"')),
      "not UTF-8"),
    C("tuf-lone-surrogate", "tuf-verify",
      verify(raw("timestamp.json", TS, TS + b', "x": "\\ud800"')), "lone UTF-16 surrogate"),
    C("tuf-not-json", "tuf-verify", verify(replaced("timestamp.json", b"{\"signed\": ")),
      "not JSON"),
    C("tuf-empty", "tuf-verify", verify(replaced("timestamp.json", b"")), "not JSON"),
    C("tuf-not-object", "tuf-verify", verify(replaced("timestamp.json", b"[]")),
      "must be a JSON object"),
    C("tuf-deep-nesting", "tuf-verify", verify(replaced("timestamp.json", deep(100_000))),
      "not JSON"),
    C("tuf-deep-unknown-field", "tuf-verify", verify(deep_field(5_000)), "not JSON"),
    C("tuf-huge-file", "tuf-verify", verify(lambda i: {}, huge="timestamp.json"),
      "more than the 100 MiB"),
    C("tuf-huge-root", "tuf-verify", verify(lambda i: {}, huge="1.root.json"),
      "more than the 100 MiB"),
    C("tuf-missing-trusted-root", "tuf-verify",
      verify(lambda i: {}, "--trusted-root", "no-such-root.json"), "cannot read"),
    # fields
    C("tuf-wrong-type", "tuf-verify", verify(raw("timestamp.json", TS, b'"_type": "snapshot"')),
      "is 'snapshot', expected 'timestamp'"),
    C("tuf-spec-2", "tuf-verify", verify(resealed("timestamp", set_in("spec_version", "2.0.0"))),
      "is not 1.x"),
    C("tuf-bad-expiry", "tuf-verify",
      verify(resealed("timestamp", set_in("expires", "2030-01-01T00:00:00+01:00"))),
      "is not a time as YYYY-MM-DDTHH:MM:SSZ"),
    C("tuf-five-digit-year", "tuf-verify",
      verify(resealed("timestamp", set_in("expires", "99999-01-01T00:00:00Z"))),
      "is not a time as YYYY-MM-DDTHH:MM:SSZ"),
    C("tuf-signatures-not-list", "tuf-verify",
      verify(raw("timestamp.json", b'"signatures": [', b'"signatures": {"a": [')),
      ("not JSON", "must be a list")),
    C("tuf-keyid-not-string", "tuf-verify",
      verify(raw("timestamp.json", b'"keyid": "', b'"keyid": 5, "k": "')), "expected a string"),
    C("tuf-same-signature-twice", "tuf-verify",
      verify(lambda i: {"timestamp.json": _twice_same_sig(i)}), "same key ID"),
    C("tuf-snapshot-meta-extra", "tuf-verify",
      verify(resealed("timestamp", set_in("meta", "x.json", {"version": 1}))),
      "exactly 'snapshot.json'"),
    # keys
    C("tuf-bad-hex-signature", "tuf-verify",
      verify(raw("timestamp.json", b'"sig": "', b'"sig": "zz')), "0 valid signature(s)"),
    C("tuf-bad-hex-key", "tuf-verify", verify(root_edit(key_set("timestamp", keyval={
        "public": "zz" * 32}))), "0 valid signature(s) of root's 'timestamp' keys"),
    C("tuf-unknown-keytype", "tuf-verify",
      verify(root_edit(key_set("timestamp", keytype="dsa", scheme="dsa-sha1"))),
      "0 valid signature(s) of root's 'timestamp' keys"),
    C("tuf-keytype-scheme-mismatch", "tuf-verify",
      verify(root_edit(key_set("timestamp", keytype="ecdsa", scheme="ecdsa-sha2-nistp256"))),
      "0 valid signature(s) of root's 'timestamp' keys"),
    C("tuf-rsa-garbage-pem", "tuf-verify", verify(root_edit(key_set(
        "timestamp", keytype="rsa", scheme="rsassa-pss-sha256", keyval={"public": BAD_PEM}))),
      "0 valid signature(s) of root's 'timestamp' keys"),
    C("tuf-keyval-not-object", "tuf-verify",
      verify(root_edit(key_set("timestamp", keyval="abc"))), "keyval must be an object"),
    C("tuf-role-key-not-listed", "tuf-verify",
      verify(root_edit(role_set("timestamp", "keyids", ["ab" * 32]))), "is not in root's keys"),
    # thresholds
    C("tuf-threshold-zero", "tuf-verify", verify(root_edit(role_set("timestamp", "threshold", 0))),
      "threshold: must be at least 1, got 0"),
    C("tuf-threshold-negative", "tuf-verify",
      verify(root_edit(role_set("timestamp", "threshold", -1))), "must be at least 1"),
    C("tuf-threshold-true", "tuf-verify",
      verify(root_edit(role_set("timestamp", "threshold", True))), "got a boolean"),
    C("tuf-threshold-string", "tuf-verify",
      verify(root_edit(role_set("timestamp", "threshold", "1"))), "got a string"),
    C("tuf-threshold-huge", "tuf-verify",
      verify(root_edit(role_set("timestamp", "threshold", 2 ** 62))),
      "threshold 4611686018427387904"),
    C("tuf-threshold-one-key-twice", "tuf-verify", verify(twice_signed_timestamp),
      "the same key is listed under more than one"),
    C("tuf-role-keyids-repeated", "tuf-verify", verify(root_edit(
        lambda s: s["roles"]["timestamp"]["keyids"].append(s["roles"]["timestamp"]["keyids"][0]))),
      "lists the same entry twice"),
    C("tuf-root-without-snapshot-role", "tuf-verify",
      verify(root_edit(lambda s: s["roles"].pop("snapshot"))), "must list exactly"),
    # target names and delegations
    C("tuf-target-dotdot", "tuf-verify",
      verify(resealed("targets", add_target("../../../../etc/passwd"))), "'..' part"),
    C("tuf-target-absolute", "tuf-verify",
      verify(resealed("targets", add_target("/etc/passwd"))), "is empty or absolute"),
    C("tuf-target-nul", "tuf-verify", verify(resealed("targets", add_target("a\x00b"))),
      "control character"),
    C("tuf-target-backslash", "tuf-verify",
      verify(resealed("targets", add_target("..\\..\\windows\\x"))), "backslash"),
    C("tuf-target-hash-traversal", "tuf-verify",
      verify(resealed("targets", add_target("files/x", {"sha256": "../../../../tmp/x"}))),
      "is not a hex digest"),
    C("tuf-target-huge-name", "tuf-verify",
      verify(resealed("targets", add_target("a/" * 50_000 + ".."))), "'..' part"),
    C("tuf-delegation-name-traversal", "tuf-verify", verify(resealed(
        "targets", lambda s: s["delegations"]["roles"][0].update(name="../../x"))),
      "is not listed in snapshot"),
    C("tuf-delegation-both-kinds", "tuf-verify", verify(resealed(
        "targets", lambda s: s["delegations"]["roles"][0].update(path_hash_prefixes=["ab"]))),
      "exactly one of 'paths' and 'path_hash_prefixes'"),
    C("tuf-delegation-top-level-name", "tuf-verify", verify(resealed(
        "targets", lambda s: s["delegations"]["roles"][0].update(name="root"))),
      "top-level role"),
    C("tuf-bins-33-bits", "tuf-verify", verify(resealed("targets", bins(33))),
      "between 1 and 32"),
    # `ceremony verify` detects TUF and gives the same refusals
    C("tuf-detected-float", "tuf-verify",
      verify(raw("timestamp.json", b'"version": 1', b'"version": 1.5'), command=("verify",)),
      "fraction or exponent"),
    C("tuf-detected-traversal", "tuf-verify",
      verify(resealed("targets", add_target("../x")), command=("verify",)), "'..' part"),

    # `tuf sign`: the proposed file
    C("tuf-sign-float", "tuf-sign", sign(proposed(text=(b'"version": 2', b'"version": 2.0'))),
      "fraction or exponent"),
    C("tuf-sign-duplicate-key", "tuf-sign",
      sign(proposed(text=(b'"version": 2', b'"version": 2, "version": 2'))),
      "duplicate key 'version'"),
    C("tuf-sign-huge-number", "tuf-sign",
      sign(proposed(text=(b'"version": 2', b'"version": 2' + b"0" * 5000))),
      "is too large"),
    C("tuf-sign-deep-nesting", "tuf-sign", sign(lambda i: deep(100_000)), "not JSON"),
    C("tuf-sign-huge-file", "tuf-sign", sign(proposed(), huge="proposed.json"),
      "more than the 100 MiB"),
    C("tuf-sign-huge-trusted", "tuf-sign", sign(proposed(), huge="trusted.json"),
      "more than the 100 MiB"),
    C("tuf-sign-bad-hex-key", "tuf-sign", sign(proposed(key_set("timestamp", keyval={
        "public": "zz" * 32}))), "cannot be used"),
    C("tuf-sign-unknown-keytype", "tuf-sign",
      sign(proposed(key_set("snapshot", keytype="dsa", scheme="dsa-sha1"))), "cannot be used"),
    C("tuf-sign-threshold-above-keys", "tuf-sign",
      sign(proposed(role_set("root", "threshold", 5))), "nobody could ever sign it"),
    C("tuf-sign-threshold-one-key-twice", "tuf-sign",
      sign(proposed(same_key_twice("targets"))), "only 1 distinct key(s)"),
    C("tuf-sign-threshold-zero", "tuf-sign", sign(proposed(role_set("root", "threshold", 0))),
      "must be at least 1, got 0"),
    C("tuf-sign-threshold-huge", "tuf-sign",
      sign(proposed(role_set("root", "threshold", 2 ** 62))), "nobody could ever sign it"),
    C("tuf-sign-version-jump", "tuf-sign", sign(proposed(set_in("version", 3))),
      "a root must follow the one before it"),
    C("tuf-sign-expired", "tuf-sign",
      sign(proposed(set_in("expires", "2001-01-01T00:00:00Z"))), "in the past"),
    C("tuf-sign-wrong-type", "tuf-sign",
      sign(proposed(text=(b'"_type": "root"', b'"_type": "mirrors"'))), "unknown role type"),
    C("tuf-sign-lone-surrogate", "tuf-sign",
      sign(proposed(text=(b'"_type": "root"', b'"_type": "root", "x": "\\udfff"'))),
      "lone UTF-16 surrogate"),
    C("tuf-sign-target-traversal", "tuf-sign",
      sign(lambda i: _targets_with("../../../etc/cron.d/x", i)), "'..' part"),
    C("tuf-sign-delegator-missing", "tuf-sign",
      sign(lambda i: _targets_with("releases/ok", i), "--role", "releases", "--delegator",
           "@no-such-delegator.json"), "cannot read"),
    C("tuf-sign-delegator-hostile", "tuf-sign",
      sign(lambda i: _targets_with("releases/ok", i), "--role", "releases", "--delegator",
           "@delegator.json", extra_files={"delegator.json": lambda i: _targets_with(
               "../../x", i)}), "'..' part"),
    C("tuf-sign-role-top-level", "tuf-sign",
      sign(lambda i: _targets_with("files/ok", i), "--role", "targets"), "top-level role"),
    C("tuf-sign-rstuf-root-not-object", "tuf-sign",
      sign(lambda i: b'{"metadata": {"root": "root.json"}, "settings": {}}'),
      "must be a JSON object"),
    C("tuf-sign-rstuf-root-float", "tuf-sign", sign(lambda i: b'{"metadata": {"root": ' +
                                                    proposed(text=(b'"version": 2',
                                                                   b'"version": 2.5'))(i)
                                                    + b'}, "timeout": 300}'),
      "fraction or exponent"),
    # `tuf sign`: the trusted root
    C("tuf-sign-trusted-float", "tuf-sign",
      sign(proposed(), trusted=lambda i: i.files["1.root.json"].replace(
          b'"version": 1', b'"version": 1.0', 1)), "fraction or exponent"),
    C("tuf-sign-trusted-tampered", "tuf-sign",
      sign(proposed(), trusted=lambda i: i.files["1.root.json"].replace(
          b'"consistent_snapshot": true', b'"consistent_snapshot": false', 1)),
      "0 valid signature(s) of its own's 'root' keys"),
    C("tuf-sign-trusted-is-targets", "tuf-sign",
      sign(proposed(), trusted=lambda i: i.files[i.current["targets"]]),
      "is 'targets', expected 'root'"),
]


def _twice_same_sig(i: TufInputs) -> bytes:
    data = json.loads(i.files["timestamp.json"])
    data["signatures"].append(dict(data["signatures"][0]))
    return json.dumps(data).encode()


def _targets_with(name: str, i: TufInputs) -> bytes:
    data = json.loads(i.files[i.current["targets"]])
    data["signed"]["version"] += 1
    add_target(name)(data["signed"])
    return json.dumps(data).encode()


KINDS = ("tuf-verify", "tuf-sign")


# --- the good inputs, once ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def inputs(tmp_path_factory, softhsm_factory) -> TufInputs:
    hsm = softhsm_factory("tuf-hostile", [TOKEN])
    made = run_cli("key", "generate", "--token", TOKEN, "--label", KEY_LABEL, "--algorithm",
                   "ecdsa-p256", "--pin-source", hsm.pin_source(TOKEN), env=hsm.env,
                   wrapper=AIRGAPPED)
    assert made.returncode == 0, made.output
    shown = run_cli("tuf", "key", "--token", TOKEN, "--label", KEY_LABEL, "--pin-source",
                    hsm.pin_source(TOKEN), "--json", env=hsm.env)
    assert shown.returncode == 0, shown.output
    key = json.loads(shown.stdout)
    repo = PyTufRepository.create(tmp_path_factory.mktemp("tuf-hostile") / "repo")
    files = {p.name: p.read_bytes() for p in repo.metadata_dir.iterdir()}
    proposed_root = repo.propose_root(lambda root: root.add_key(token_key(key), "root"))
    current = {role: f"{repo.targets(role).version}.{role}.json"
               for role in ("targets", "releases")}
    current["root"] = "1.root.json"
    current["timestamp"] = "timestamp.json"
    return TufInputs(files, repo.signers, proposed_root, key, hsm.env, hsm.root,
                     hsm.pin_source(TOKEN), current)


@pytest.mark.parametrize("case", TUF_CATALOGUE, ids=str)
def test_bad_tuf_input_is_refused_cleanly(case, inputs, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    outcome = run_case(case, inputs, work)  # type: ignore[arg-type]  # same fields used
    assert outcome.ok, (outcome.problems, outcome.result.stderr[-2000:])


def test_the_good_inputs_pass(inputs, tmp_path):
    """The cases break good inputs: unbroken, they verify and sign (so each refusal above is
    the break's doing)."""
    for name, data in inputs.files.items():
        _write(tmp_path / "m" / name, data)
    assert run_cli("tuf", "verify", str(tmp_path / "m")).returncode == 0
    assert run_cli("verify", str(tmp_path / "m")).returncode == 0
    inv = sign(proposed())(inputs, tmp_path)
    result = run_cli(*inv.args, env=inputs.hsm_env, wrapper=AIRGAPPED)
    assert result.returncode == 0, result.output
    assert (tmp_path / "out.json").exists()


def test_the_tuf_section_covers_both_commands():
    assert len({c.id for c in TUF_CATALOGUE}) == len(TUF_CATALOGUE)
    assert {c.kind for c in TUF_CATALOGUE} == set(KINDS)
    assert len(TUF_CATALOGUE) >= 60
