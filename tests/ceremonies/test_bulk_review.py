"""The condensed review of a bulk ceremony: identical blocks shown once per group, the full text
in a file beside the transcript (its SHA-256 the one the transcript records), nothing hidden.

The grouping in process, on review blocks that `review_files` makes from synthetic metadata; the
whole ceremony with real SoftHSM tokens against the real notary-server (12 repositories, one of
them with an extra delegation), and a ceremony at the threshold, still shown in full.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ceremony.notary.ceremonies.build import (
    add_delegation,
    new_root,
    new_targets,
    next_root,
    next_targets,
    replace_role_keys,
)
from ceremony.notary.ceremonies.bulkreview import (
    BULK_REVIEW_THRESHOLD,
    BulkReview,
    _denormalise,
    group_blocks,
    write_bulk_review,
)
from ceremony.notary.ceremonies.review import review_files
from ceremony.notary.ceremonies.signing import FileToSign, SignerSet, thresholds_for
from ceremony.notary.format import Instant, key_from_certificate, key_from_public_key
from ceremony.notary.format.model import ROOT, TARGETS
from groundfloor.words import digest_words
from tests.ceremonies.conftest import fetch, publish, response_file
from transfer.bundle import read_bundle

BEFORE = Instant.from_datetime(dt.datetime(2030, 1, 1, tzinfo=dt.UTC))
LATER = Instant.from_datetime(dt.datetime(2035, 1, 1, tzinfo=dt.UTC))


def plain_key():
    return key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())


class Shared:
    """The keys every repository of the synthetic ceremony shares."""

    def __init__(self) -> None:
        self.old_targets = plain_key()
        self.new_targets = plain_key()
        self.delegate = plain_key()


def root_certificate(gun: str, made: dt.datetime):
    """A root key as Notary makes one: a self-signed certificate, CN the GUN, 10 years."""
    private = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, gun)])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(private.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(made).not_valid_after(made + dt.timedelta(days=3650))
            .sign(private, hashes.SHA256()))
    return key_from_certificate(cert)


def rotation(shared: Shared, gun: str, *, version: int = 1, root_threshold: int = 1,
             expires: Instant = LATER, path: str = "qa/", targets_jump: int = 1,
             old_expires: Instant = BEFORE, made: dt.datetime | None = None):
    """A targets-key rotation of one repository: its own two root keys (certificates made at
    `made`, if given) and server keys, the shared old and new targets keys, a delegation
    `targets/qa` over `path`; its current files expire at `old_expires`."""
    root_keys = [plain_key(), plain_key()] if made is None else \
        [root_certificate(gun, made), root_certificate(gun, made)]
    old_root = new_root(root_keys=root_keys, root_threshold=root_threshold,
                        targets_key=shared.old_targets, snapshot_key=plain_key(),
                        timestamp_key=plain_key(), expires=old_expires)
    old_root.version = version
    old_targets = new_targets(old_expires)
    old_targets.version = version
    add_delegation(old_targets, "targets/qa", [shared.delegate], paths=[path])
    root = next_root(old_root, expires)
    replace_role_keys(root, TARGETS, [shared.new_targets], 1)
    targets = next_targets(old_targets, expires)
    targets.version = old_targets.version + targets_jump
    files = [FileToSign(gun, ROOT, root, thresholds_for(ROOT, root, previous_root=old_root)),
             FileToSign(gun, TARGETS, targets, thresholds_for(TARGETS, targets, root=root))]
    return files, {(gun, ROOT): old_root, (gun, TARGETS): old_targets}


def review_of(shared: Shared, repos: dict[str, dict]):
    files, old = [], {}
    for gun, options in repos.items():
        f, o = rotation(shared, gun, **options)
        files += f
        old.update(o)
    notes = {gun: [f"old targets key {shared.old_targets.key_id} leaves root"] for gun in repos}
    return review_files("REVIEW: test", files, old, SignerSet(), notes=notes,
                        header=[f"{len(repos)} repositories"])


def members_restored(group, blocks) -> bool:
    """Each member's block, as the full review has it (without its digest lines), follows from
    the group's block and the member's own values."""
    by_gun = {b.gun: b for b in blocks}
    if group.literal:
        return len(group.guns) == 1 and group.lines == by_gun[group.guns[0]].lines
    for i, gun in enumerate(group.guns):
        block = by_gun[gun]
        values = {p: v[i] for p, v in group.per_repository.items()}
        expected = [line for line in block.lines
                    if not line.startswith(("  sha256 of the bytes to sign:", "  words:"))]
        if _denormalise(group.lines, block, values) != expected:
            return False
    return True


def test_grouping_sets_aside_only_gun_versions_digests_and_per_repository_ids():
    shared = Shared()
    base = {f"example.com/app-{i}": {} for i in range(4)}
    base.update({f"example.com/old-{i}": {"version": 3} for i in range(2)})  # 3 -> 4: +1
    review = review_of(shared, base)
    # the full text is the blocks, between the head and the tail, unchanged
    assert review.text == "\n".join(
        [*review.head, *[line for b in review.blocks for line in ("", *b.lines)],
         *review.tail])
    (group,) = group_blocks(review.blocks)
    assert group.guns == tuple(base) and not group.literal
    shown = "\n".join(group.lines)
    assert "=== <GUN> ===" in shown and "--- root.json: version +1" in shown
    assert "root v(N) keys (they approve the change to v(N+1))" in shown
    assert "example.com/" not in shown and "sha256 of the bytes to sign" not in shown
    # shared key IDs literally (the new targets key above all), per-repository ones not
    assert f"key ID {shared.new_targets.key_id} (= canonical key ID)" in shown
    assert f'roles.targets.keyids: ["{shared.old_targets.key_id}"] -> ' \
        f'["{shared.new_targets.key_id}"]' in shown
    assert shared.delegate.key_id in shown
    # two root keys, a snapshot and a timestamp key of each repository
    assert list(group.per_repository) == [f"<per-repository key ID #{k}>" for k in (1, 2, 3, 4)]
    assert members_restored(group, review.blocks)


@pytest.mark.parametrize("odd", [
    {"root_threshold": 2},  # a changed threshold
    {"expires": Instant.from_datetime(dt.datetime(2035, 1, 2, tzinfo=dt.UTC))},  # expiry
    {"path": "qb/"},  # a different delegation path
    {"targets_jump": 2},  # a version that does not follow (1 -> 3): kept literally
    {"version": 2, "targets_jump": 2},  # the same jump at another version: not grouped either
])
def test_any_other_difference_splits_the_group(odd):
    shared = Shared()
    repos = {f"example.com/app-{i}": {} for i in range(5)}
    repos["example.com/odd"] = odd
    review = review_of(shared, repos)
    groups = group_blocks(review.blocks)
    assert [g.guns for g in groups] == [tuple(repos)[:5], ("example.com/odd",)]
    assert all(members_restored(g, review.blocks) for g in groups)
    if "targets_jump" in odd:
        v = odd.get("version", 1)
        assert f"--- targets.json: version {v} -> {v + 2}" in groups[1].lines
    # a repository like no other is shown exactly as in the full review
    assert groups[1].literal and groups[1].lines == review.blocks[-1].lines


def test_each_repository_s_own_dates_are_set_aside_its_new_expiry_is_not():
    """Repositories made on different days: their current expiries and their root
    certificates' dates differ, their change is the same -- one group; a new expiry that
    differs still makes another."""
    shared = Shared()
    repos = {}
    for i in range(5):
        day = dt.datetime(2026, 1, 1 + i, tzinfo=dt.UTC)
        repos[f"example.com/app-{i}"] = {
            "made": day, "old_expires": Instant.from_datetime(day + dt.timedelta(days=3650))}
    review = review_of(shared, repos)
    (group,) = group_blocks(review.blocks)
    assert len(group.guns) == 5 and not group.literal
    shown = "\n".join(group.lines)
    dates = [p for p in group.per_repository if p.startswith("<per-repository date #")]
    assert len(dates) == 3  # each certificate's first and last day; the current expiry
    assert f"certificate CN=<GUN> valid {dates[0]} .. {dates[1]}" in shown
    assert f'~ expires: "{dates[2]}" -> "2035-01-01T00:00:00Z"' in shown
    assert "version +1, expires 2035-01-01T00:00:00Z" in shown  # the new expiry, literally
    assert group.per_repository[dates[0]] == tuple(f"2026-01-0{i}" for i in range(1, 6))
    assert len(set(group.per_repository[dates[2]])) == 5
    assert members_restored(group, review.blocks)
    repos["example.com/odd"] = dict(repos["example.com/app-0"], expires=Instant.from_datetime(
        dt.datetime(2034, 6, 1, tzinfo=dt.UTC)))
    groups = group_blocks(review_of(shared, repos).blocks)
    assert [g.guns for g in groups] == [tuple(repos)[:5], ("example.com/odd",)]


def test_a_block_whose_text_holds_a_placeholder_is_shown_literally():
    """A delegation path that reads `<GUN>/` in one repository and `example.com/b/` (its GUN)
    in another: the same after normalisation, but not the same content."""
    shared = Shared()
    review = review_of(shared, {"example.com/a": {"path": "<GUN>/"},
                                "example.com/b": {"path": "example.com/b/"},
                                "example.com/c": {"path": "example.com/c/"},
                                "example.com/d": {}})
    groups = group_blocks(review.blocks)
    literal = [g for g in groups if g.literal]
    assert [g.guns for g in literal] == [("example.com/a",), ("example.com/d",)]
    assert literal[0].lines == review.blocks[0].lines  # exactly as in the full review
    assert '"<GUN>/"' in "\n".join(literal[0].lines)
    assert [g.guns for g in groups] == [("example.com/a",), ("example.com/b", "example.com/c"),
                                        ("example.com/d",)]
    assert all(members_restored(g, review.blocks) for g in groups)


def test_condensed_screen_keeps_head_and_ceremony_digest_and_the_table_every_file():
    shared = Shared()
    repos = {f"example.com/app-{i}": {} for i in range(6)}
    repos["example.com/odd"] = {"path": "other/"}
    review = review_of(shared, repos)
    bulk = BulkReview.of(review)
    screen = bulk.screen("/ws/transcripts/x.review.txt", "/ws/transcripts/x.review-table.txt",
                         "ab" * 32).split("\n")
    assert screen[:len(review.head)] == review.head
    assert screen[-3:] == review.tail  # ceremony digest and words, unchanged, at the end
    text = "\n".join(screen)
    assert "/ws/transcripts/x.review.txt" in text and review.text_sha256 in text
    assert "/ws/transcripts/x.review-table.txt" in text and "ab" * 32 in text
    assert "in 2 group(s)" in text
    flat = " ".join(text.split())  # as read, whatever the wrapping
    assert "=== group 1 of 2, 6 repositories: e.g. example.com/app-0, example.com/app-1, " \
        "example.com/app-2 and 3 more" in flat
    assert "    versions, root.json: 1 -> 2 (6 repositories)" in screen
    for b in review.blocks:
        # the full digests and words: in the table and the full review file, and in the odd
        # block shown exactly as there
        for f in b.files:
            shown = b.gun == "example.com/odd"
            assert (f.digest in text) == shown
            assert (digest_words(bytes.fromhex(f.digest)) in text) == shown
    assert "=== group 2 of 2, 1 repository: example.com/odd" in screen
    assert "\n".join(review.blocks[-1].lines) in text
    # the table: one line per repository, its group, every file's versions and full digest,
    # and the values the group's block shows as per-repository placeholders
    table = bulk.table_text("x.review.txt").split("\n")
    assert table[-4:-1] == review.tail and review.text_sha256 in table[1]
    rows = {row.split("\t")[0]: row.split("\t") for row in table if "\t" in row}
    assert list(rows) == list(repos)
    for b in review.blocks:
        cells = rows[b.gun]
        assert cells[1] == ("group 2" if b.gun == "example.com/odd" else "group 1")
        assert cells[2:2 + len(b.files)] == [f"{f.role} {f.old_version} -> {f.version} "
                                             f"{f.digest}" for f in b.files]
    (group,) = [g for g in bulk.groups if not g.literal]
    for i, gun in enumerate(group.guns):
        assert rows[gun][2 + 2:] == [f"{p}={v[i]}" for p, v in group.per_repository.items()]


def test_three_hundred_repositories_one_odd_shown_by_name_table_digest_recorded(tmp_path):
    """300 repositories made in process: the screen stays short, names the odd repository
    (a shortened expiry, its warning) and the two at another version, and records the table."""
    shared = Shared()
    repos = {f"example.com/team/app-{i:03d}": {} for i in range(300)}
    odd = "example.com/team/app-137"
    repos[odd] = {"expires": Instant.from_datetime(dt.datetime(2031, 1, 1, tzinfo=dt.UTC))}
    later = ["example.com/team/app-200", "example.com/team/app-201"]
    for gun in later:
        repos[gun] = {"version": 7}
    files, old = [], {}
    for gun, options in repos.items():
        f, o = rotation(shared, gun, **options)
        files += f
        old.update(o)
    notes = {odd: ["WARNING: root.json expires 2031-01-01, earlier than now (it SHORTENS the "
                   "lifetime; confirm with 'shorten')"]}
    review = review_files("REVIEW: test", files, old, SignerSet(), notes=notes,
                          header=["300 repositories"])
    transcript = tmp_path / "20261205-ceremony.jsonl"
    screen, record = write_bulk_review(review, transcript, "review")
    lines = screen.split("\n")
    assert len(lines) < 200, len(lines)
    assert record["groups"] == 2
    assert f"=== group 2 of 2, 1 repository: {odd}" in lines
    assert "  note: WARNING: root.json expires 2031-01-01, earlier than now (it SHORTENS the " \
        "lifetime; confirm with 'shorten')" in lines
    flat = " ".join(screen.split())  # as read, whatever the wrapping
    assert "=== group 1 of 2, 299 repositories: e.g. example.com/team/app-000, " \
        "example.com/team/app-001, example.com/team/app-002 and 296 more" in flat
    # the two repositories at another version: named under their group
    for role in ("root", "targets"):
        assert f"versions, {role}.json: 1 -> 2 (297 repositories); 7 -> 8 ({', '.join(later)})" \
            in flat
    # the table and the full review beside the transcript, their digests on the screen and
    # in what the transcript records
    table = transcript.with_name(record["table_file"])
    full = transcript.with_name(record["text_file"])
    assert table.name == "20261205-ceremony.review-table.txt"
    assert hashlib.sha256(table.read_bytes()).hexdigest() == record["table_sha256"]
    assert f"  its sha256 (the transcript's table_sha256): {record['table_sha256']}" in lines
    assert full.read_text() == review.text
    assert hashlib.sha256(screen.encode()).hexdigest() == record["screen_sha256"]
    rows = [row for row in table.read_text().split("\n") if "\t" in row]
    assert len(rows) == 300 and any(row.startswith(f"{odd}\tgroup 2\t") for row in rows)


# --- the whole ceremony: real tokens, the real notary-server ------------------------------------

N = 12


def _screen(stderr: str) -> str:
    """The review as shown (with --json it goes to standard error)."""
    start = stderr.index("REVIEW: ceremony")
    end = stderr.index("\n", stderr.index("ceremony words:", start))
    return stderr[start:end]


def _table(path: Path) -> dict[str, list[str]]:
    """The per-repository table's rows, by GUN: [group, cells...]."""
    return {row.split("\t")[0]: row.split("\t")[1:]
            for row in path.read_text().split("\n") if "\t" in row}


def _groups(table: dict[str, list[str]]) -> list[list[str]]:
    """The GUNs of each group, as the table assigns them (group 1 first)."""
    out: dict[int, list[str]] = {}
    for gun, cells in table.items():
        out.setdefault(int(cells[0].removeprefix("group ")), []).append(gun)
    return [out[i] for i in sorted(out)]


def _block_of(screen: str, index: int) -> str:
    parts = re.split(r"\n(?==== group )", screen.split("\n\nceremony digest (")[0])
    return parts[index + 1]


def _expires(resp: Path, gun: str) -> tuple[str, str]:
    return tuple(json.loads(response_file(resp, gun, role))["signed"]["expires"]
                 for role in ("root", "targets"))


@pytest.mark.notary
def test_bulk_rotation_shows_groups_and_writes_the_full_review(server, offline, tmp_path):
    o = offline
    guns = [f"bulkreview.example.com/repo-{i:02d}" for i in range(N)]
    odd = guns[5]
    req = fetch(server, *guns, out=tmp_path / "init.req")
    init = tmp_path / "init.resp"
    r = o.run("init", "--request", str(req), "--out", str(init), "--root-token", "root-a",
              "--targets-token", "targets", *o.pins(), "--yes", "--json")
    assert r.returncode == 0, r.output
    assert "CONDENSED REVIEW: 12 repositories" in r.stderr  # init over 12 is condensed too
    publish(server, init)
    # the odd repository: an extra delegation (targets v2)
    req = fetch(server, odd, out=tmp_path / "deleg.req", operation="delegation-add")
    subprocess.run(["openssl", "req", "-new", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", str(tmp_path / "qa.key"),
                    "-out", str(tmp_path / "qa.pem"), "-days", "30", "-subj", "/CN=qa"],
                   check=True, capture_output=True)
    deleg = tmp_path / "deleg.resp"
    o.ok("delegation", "add", odd, "targets/qa", "--key", str(tmp_path / "qa.pem"), "--path",
         "qa/", "--request", str(req), "--out", str(deleg), "--targets-token", "targets",
         *o.pins("targets"), "--yes")
    publish(server, deleg)

    req = fetch(server, *guns, out=tmp_path / "rotate.req", operation="rotate-targets")
    resp = tmp_path / "rotate.resp"
    r = o.run("rotate", "targets", "--all", "--request", str(req), "--out", str(resp),
              "--targets-token", "targets", "--root-token", "root-a", *o.pins(), "--yes",
              "--reason", "bulk review", "--json")
    assert r.returncode == 0, r.output
    result = json.loads(r.stdout)
    screen = _screen(r.stderr)
    entries = o.last_transcript()
    review = next(e for e in entries if e["kind"] == "review")["data"]

    # the full review file, beside the transcript, is the text the transcript records
    transcript = o.transcripts()[-1]
    full = transcript.with_name(transcript.stem + ".review.txt")
    assert review["text_file"] == full.name
    data = full.read_bytes()
    assert hashlib.sha256(data).hexdigest() == review["text_sha256"] == result["review_sha256"]
    assert f"full review (every repository's block, as reviewed): {full}" in screen
    assert f"its sha256 (the transcript's text_sha256): {review['text_sha256']}" in screen
    text = data.decode()
    for gun in guns:
        assert f"\n=== {gun} ===\n" in text
    for f in review["files"]:  # every file's full block ends with its digest and words
        assert f"  sha256 of the bytes to sign: {f['signed_sha256']}\n  words: " \
               f"{digest_words(bytes.fromhex(f['signed_sha256']))}" in text
    assert "--- targets.json: version 2 -> 3" in text and "delegation targets/qa" in text
    assert text.count("delegation targets/qa") == 1

    # the per-repository table beside it, its digest on the screen and in the transcript
    table_file = transcript.with_name(transcript.stem + ".review-table.txt")
    assert review["table_file"] == table_file.name
    assert hashlib.sha256(table_file.read_bytes()).hexdigest() == review["table_sha256"]
    assert f"its sha256 (the transcript's table_sha256): {review['table_sha256']}" in screen
    assert hashlib.sha256(screen.encode()).hexdigest() == review["screen_sha256"]
    table = _table(table_file)

    # the screen: far shorter, every GUN in exactly one group, the odd one on its own
    assert len(screen.split("\n")) < len(text.split("\n")) / 3
    groups = _groups(table)
    assert sorted(g for group in groups for g in group) == sorted(guns)
    # One clock per run: every repository of a bulk ceremony gets the same expiries, so the
    # regular repositories form one group whatever second each one's turn came.
    regular = [g for g in guns if g != odd]
    times = {(_expires(init, g), _expires(resp, g)) for g in regular}
    assert len(times) == 1
    assert len(groups) == 2
    assert [odd] in groups
    assert f"CONDENSED REVIEW: {N} repositories in {len(groups)} group(s)" in screen
    odd_index = groups.index([odd])
    big = max(range(len(groups)), key=lambda i: len(groups[i]))
    assert sorted(groups[big]) == sorted(regular)
    shared = _block_of(screen, big)
    assert "=== <GUN> ===" in shared and "--- root.json: version +1" in shared
    # the new targets key, shared by all: shown literally, in root and as the signer
    new_id = json.loads(response_file(resp, guns[0], "root"))["signed"]["roles"]["targets"][
        "keyids"][0]
    old_id = json.loads(response_file(init, guns[0], "root"))["signed"]["roles"]["targets"][
        "keyids"][0]
    assert f'~ roles.targets.keyids: ["{old_id}"] -> ["{new_id}"]' in shared
    assert f"      {new_id}: WILL SIGN: token 'targets'" in shared
    # each repository's own root certificate: a per-repository placeholder, listed in the file
    assert "cert key ID <per-repository key ID #1>" in shared
    assert "differ per repository, listed in the table and the full review file" in \
        " ".join(shared.split())
    for g in groups[big]:
        (cert,) = json.loads(response_file(resp, g, "root"))["signed"]["roles"]["root"]["keyids"]
        assert cert not in screen and cert in text
    assert "delegation targets/qa" not in shared
    # the odd repository alone: its values literally, its delegation, its versions
    alone = _block_of(screen, odd_index)
    assert "delegation targets/qa" in alone and "per-repository" not in alone
    (cert,) = json.loads(response_file(resp, odd, "root"))["signed"]["roles"]["root"]["keyids"]
    assert f"cert key ID {cert}" in alone
    # the screen names the odd one, counts the others and their versions
    flat = " ".join(screen.split())
    assert f"=== group {odd_index + 1} of 2, 1 repository: {odd}" in flat
    assert f"=== group {big + 1} of 2, 11 repositories: e.g. {', '.join(groups[big][:3])} " \
        "and 8 more" in flat
    assert "versions, root.json: 1 -> 2 (11 repositories)" in flat
    # the table: every file, its versions and the digest of its bytes to sign
    assert sorted(table) == sorted(guns)
    for f in review["files"]:
        old = 2 if (f["gun"], f["role"]) == (odd, "targets") else 1
        assert f"{f['role']} {old} -> {f['version']} {f['signed_sha256']}" in table[f["gun"]]
    # the ceremony digest and words at the end, unchanged, and the question unchanged
    assert screen.split("\n")[-2:] == text.split("\n")[-2:]
    assert text.split("\n")[-2] == f"ceremony digest ({2 * N} file(s) to sign): " \
        f"{result['ceremony_digest']}"
    question = next(e for e in entries if e["kind"] == "confirmation")["data"]["question"]
    assert question == (f"Sign {2 * N} file(s) for {N} repositories, ceremony digest "
                        f"{result['ceremony_digest']} ({result['ceremony_words']})?")
    assert read_bundle(resp, kind="response").complete
    publish(server, resp)
    o.assert_no_pin_anywhere(tmp_path)

    # at the threshold: the full text on screen, as before, and no file
    few = [f"bulkreview.example.com/few-{i}" for i in range(BULK_REVIEW_THRESHOLD)]
    req = fetch(server, *few, out=tmp_path / "few.req")
    r = o.run("init", "--request", str(req), "--out", str(tmp_path / "few.resp"),
              "--root-token", "root-a", "--targets-token", "targets", *o.pins(), "--yes",
              "--json")
    assert r.returncode == 0, r.output
    shown = _screen(r.stderr)
    review = next(e for e in o.last_transcript() if e["kind"] == "review")["data"]
    assert hashlib.sha256(shown.encode()).hexdigest() == review["text_sha256"]
    assert "CONDENSED" not in shown and "text_file" not in review
    transcript = o.transcripts()[-1]
    assert not transcript.with_name(transcript.stem + ".review.txt").exists()
