"""Many repositories against the real notary-server: bounded concurrency, kept-alive
connections, a fetch and a publish killed part way continue from their records, the progress
bar."""

from __future__ import annotations

import base64
import io
import json

import pytest

from softhsm.notary_server import NotaryServer
from tests.conftest import run_cli
from tests.online import notary_metadata as nm
from transfer.bundle import ResponseBundle, ResponseEntry, SignedFile, read_bundle, write_bundle
from transfer.progress import ProgressBar

pytestmark = pytest.mark.notary

GUNS = [f"bulk.example.com/team-{i % 3}/app-{i:03d}" for i in range(24)]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with NotaryServer(tmp_path_factory.mktemp("bulk") / "server") as s:
        yield s


def log_entries(server: NotaryServer) -> list[dict]:
    out = []
    for line in (server.folder / "server.log").read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "response completed":  # one per request
            out.append(entry)
    return out


def posts(server: NotaryServer, gun: str) -> int:
    return sum(1 for e in log_entries(server) if e["http.request.method"] == "POST"
               and e["http.request.uri"] == f"/v2/{gun}/_trust/tuf/")


def online(server: NotaryServer, *args: str, env: dict | None = None):
    return run_cli("online", *args, "--server", server.url, "--ca", str(server.ca), env=env)


def test_bulk_fetch_and_a_killed_publish_that_continues(server, tmp_path):
    request = tmp_path / "request.bundle"
    seen = len(log_entries(server))
    r = online(server, "fetch", *GUNS, "--out", str(request), "--jobs", "4", "--progress")
    assert r.returncode == 0, r.output
    bundle = read_bundle(request)
    assert bundle.guns == GUNS  # in the order given, whatever order the workers finished in
    # the bar was asked for: plain lines on a non-terminal, the last one complete
    assert "fetch [" in r.stderr and r.stderr.splitlines()[-1].startswith(
        f"fetch [{'#' * 30}] 24/24 repositories")
    assert "new repository" not in r.stderr  # per-repository lines give way to the bar
    # at most 4 connections at once, each kept alive over many requests
    fetched = log_entries(server)[seen:]
    conns = {e["http.request.remoteaddr"] for e in fetched}
    assert len(fetched) == 24 * 3 and 1 <= len(conns) <= 4, conns

    entries, expected = [], {}
    for e in bundle.entries:
        _, files = nm.new_repository(e.gun, e.server_keys["timestamp"],
                                     e.server_keys["snapshot"], ("v1", e.gun.encode()))
        expected[e.gun] = files
        entries.append(ResponseEntry(e.gun, tuple(SignedFile(r_, d) for r_, d in files)))
    response = write_bundle(tmp_path / "response.bundle", ResponseBundle(
        entries=tuple(entries), request_sha256=bundle.digest_hex))
    record = tmp_path / "response.bundle.published"

    # killed right after the 10th repository was noted in the record
    r = online(server, "publish", str(response), "--jobs", "3",
               env={"CEREMONY_FAULT_INJECT": "online.publish.recorded:10"})
    assert r.returncode == -9, r.output
    lines = record.read_text().splitlines()
    assert json.loads(lines[0])["response_sha256"] == read_bundle(response).digest_hex
    done_before = {json.loads(line)["gun"] for line in lines[1:]}
    assert len(done_before) == 10

    r = online(server, "publish", str(response), "--jobs", "3")
    assert r.returncode == 0, r.output
    assert f"published {24 - 10} repositories" in r.stdout
    assert "10 repositories already published" in r.stderr
    for gun, files in expected.items():
        for role, data in files:
            assert server.get(f"/v2/{gun}/_trust/tuf/{role}.json") == (200, data), gun
        # recorded ones are not sent again; one in flight at the kill may have been
        assert posts(server, gun) == 1 or (gun not in done_before and posts(server, gun) == 2)
    again = online(server, "publish", str(response))
    assert again.returncode == 0 and "published 0 repositories" in again.stdout


def test_a_publish_whose_answer_was_lost_counts_as_published(server, tmp_path):
    """The server accepted a repository but the record never heard of it (killed between the
    answer and the record): on the rerun the server refuses it, holds exactly our files, and
    it counts as published."""
    gun = "bulk.example.com/lost-answer"
    request = tmp_path / "request.bundle"
    assert online(server, "fetch", gun, "--out", str(request)).returncode == 0
    entry = read_bundle(request).entry(gun)
    _, files = nm.new_repository(gun, entry.server_keys["timestamp"],
                                 entry.server_keys["snapshot"], ("v1", b"x"))
    response = write_bundle(tmp_path / "r.bundle", ResponseBundle(entries=(ResponseEntry(
        gun, tuple(SignedFile(r_, d) for r_, d in files)),)))
    assert online(server, "publish", str(response), "--record",
                  str(tmp_path / "first")).returncode == 0
    r = online(server, "publish", str(response))  # a fresh record: nothing known
    assert r.returncode == 0, r.output
    assert "published 1 repository" in r.stdout and "already had these files" in r.stderr
    assert posts(server, gun) == 2


def test_a_record_of_another_response_is_refused(server, tmp_path):
    response = write_bundle(tmp_path / "r.bundle", ResponseBundle(entries=(ResponseEntry(
        "bulk.example.com/other", (SignedFile("root", b"{}"),)),)))
    record = tmp_path / "r.bundle.published"
    record.write_text(json.dumps({"response_sha256": "0" * 64}) + "\n")
    r = online(server, "publish", str(response))
    assert r.returncode == 1 and r.stderr.count("\n") == 1
    assert "belongs to another response" in r.stderr and "--record" in r.stderr
    assert posts(server, "bulk.example.com/other") == 0


RESUMED = [f"resume.example.com/team/app-{i:03d}" for i in range(12)]


def test_a_killed_fetch_continues_from_its_record(server, tmp_path):
    """Killed after the 5th repository was noted (a real SIGKILL of the real CLI against the
    real server): the rerun fetches only the others, and the bundle holds the keys fetched
    the first time (a second GET of a new repository's key would make the server create
    another one)."""
    request = tmp_path / "request.bundle"
    record = tmp_path / "request.bundle.fetched"
    r = online(server, "fetch", *RESUMED, "--out", str(request), "--jobs", "3",
               env={"CEREMONY_FAULT_INJECT": "online.fetch.recorded:5"})
    assert r.returncode == -9, r.output
    assert not request.exists()
    lines = record.read_text().splitlines()
    assert json.loads(lines[0])["fetch"]["server"] == server.url.rstrip("/")
    kept = {}
    for line in lines[1:]:
        entry = json.loads(line)
        kept[entry["gun"]] = entry
    assert len(kept) >= 5  # others in flight may have been noted before the kill

    # a request after the kill: once the server logged it, it had logged those in flight
    assert server.get("/v2/resume.example.com/marker/_trust/tuf/root.json")[0] == 404
    seen = len(log_entries(server))
    r = online(server, "fetch", *RESUMED, "--out", str(request), "--jobs", "3")
    assert r.returncode == 0, r.output
    assert f"{len(kept)} repositories already fetched" in r.stderr
    bundle = read_bundle(request)
    assert bundle.guns == RESUMED
    for gun, entry in kept.items():
        for role in ("timestamp", "snapshot"):
            assert bundle.entry(gun).server_keys[role] == \
                base64.b64decode(entry["server_keys"][role])
    uris = [e["http.request.uri"] for e in log_entries(server)[seen:]]
    assert len(uris) == 3 * (len(RESUMED) - len(kept))  # root.json 404, the two keys
    for gun in RESUMED:
        asked = any(u.startswith(f"/v2/{gun}/") for u in uris)
        assert asked == (gun not in kept), gun
    assert not record.exists()  # the bundle is written: the record has done its job


def test_a_record_of_another_fetch_is_refused(server, tmp_path):
    request = tmp_path / "request.bundle"
    record = tmp_path / "request.bundle.fetched"
    record.write_text(json.dumps({"fetch": {"server": "https://elsewhere.example"}}) + "\n")
    seen = len(log_entries(server))
    r = online(server, "fetch", "resume.example.com/other", "--out", str(request))
    assert r.returncode == 1 and r.stderr.count("\n") == 1, r.output
    assert "records another fetch" in r.stderr and "remove it" in r.stderr
    assert len(log_entries(server)) == seen and not request.exists()


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_bar_draws_on_a_terminal_only_unless_asked():
    quiet = io.StringIO()
    bar = ProgressBar("publish", stream=quiet)
    bar(1, 2), bar(2, 2), bar.finish()
    assert quiet.getvalue() == ""
    tty = _Terminal()
    bar = ProgressBar("publish", stream=tty)
    bar(1, 4), bar(4, 4), bar.finish()
    text = tty.getvalue()
    assert text.startswith("\rpublish [") and text.endswith("4/4 repositories, " +
                                                           text.split(", ")[-1])
    assert text.endswith("\n") and "#" * 30 in text
    asked = io.StringIO()
    bar = ProgressBar("fetch", stream=asked, enabled=True, every=3600)
    for i in range(1, 101):
        bar(i, 100)
    assert len(asked.getvalue().splitlines()) == 2  # the first, then the last (throttled)
