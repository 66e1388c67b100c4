"""Times in any UTC offset, as Go writes them on a workstation outside UTC.

Real data: repositories made by the real notary client with TZ=Europe/Berlin and
TZ=America/New_York verify completely, every file re-serialises byte for byte, and instants are
compared across offsets; what the tool writes itself stays UTC `Z`.
"""

from __future__ import annotations

import json

import pytest

from ceremony.errors import ExpiredError
from ceremony.notary.format.encoding import format_time, parse_time, parse_time_offset
from ceremony.notary.format.model import Instant, Root, Targets
from ceremony.notary.format.serialization import read_metadata, write_metadata
from ceremony.notary.format.verify import verify_role
from tests.adopt.realrepo import make_repository, offsets
from tests.conftest import run_cli
from tests.metadata.notary_real import download

pytestmark = pytest.mark.notary


@pytest.mark.parametrize("text, ns_text, offset", [
    ("2029-09-22T15:56:45.874265778+02:00", "2029-09-22T13:56:45.874265778Z", 120),
    ("2036-12-01T18:00:00-05:00", "2036-12-01T23:00:00Z", -300),
    ("2030-01-01T00:30:00.5+05:30", "2029-12-31T19:00:00.5Z", 330),
    ("2030-01-01T00:00:00Z", "2030-01-01T00:00:00Z", 0),
])
def test_any_offset_is_read_kept_and_compared_as_an_instant(text, ns_text, offset):
    ns, got = parse_time_offset(text)
    assert got == offset and ns == parse_time(ns_text)
    assert format_time(ns, offset) == text  # the text comes back byte for byte
    instant = Instant.parse(text)
    assert str(instant) == text and instant.utc() == ns_text
    assert instant == Instant.parse(ns_text) and hash(instant) == hash(Instant.parse(ns_text))
    later = Instant.parse(ns_text) + __import__("datetime").timedelta(seconds=1)
    assert instant < later and str(later).endswith("Z")  # what the tool makes is UTC


def test_what_go_never_writes_is_still_refused():
    for bad in ("2030-01-01T00:00:00+00:00", "2030-01-01T00:00:00-00:00",
                "2030-01-01T00:00:00.10+01:00", "2030-01-01T00:00:00+01:60",
                "2030-01-01T00:00:00+0100", "2030-01-01T00:00:00+01"):
        with pytest.raises(ValueError):
            parse_time_offset(bad)


def test_an_offset_does_not_fool_the_expiry_check():
    """Expired in UTC although the wall-clock text in +14:00 looks one day later."""
    ahead = Instant.parse("2030-01-02T09:00:00+14:00")
    assert ahead == Instant.parse("2030-01-01T19:00:00Z")
    assert ahead < Instant.parse("2030-01-01T20:00:00Z")


@pytest.mark.parametrize("zone, expected", [("berlin", "+01:00"), ("new-york", "-05:00")])
def test_real_client_data_from_another_timezone_verifies_and_round_trips(
        server, tmp_path, zone, expected):
    gun = f"example.com/zones/{zone}"
    repo = make_repository(server, tmp_path / zone, gun, zone)
    folder = tmp_path / "download"
    download(server, gun, folder, ["targets/releases"])
    root_bytes = (folder / "root.json").read_bytes()
    # December: Berlin is UTC+1, New York UTC-5 (the files are made now, by the real client)
    assert offsets(root_bytes) == {expected}
    assert offsets((folder / "targets.json").read_bytes()) == {expected}
    assert offsets((folder / "targets" / "releases.json").read_bytes()) == {expected}
    for name, cls in (("root.json", Root), ("1.root.json", Root), ("targets.json", Targets),
                      ("targets/releases.json", Targets)):
        data = (folder / name).read_bytes()
        file = read_metadata(data, name, cls)
        assert file.go_exact, name
        assert write_metadata(file.metadata) == data, name  # byte for byte
        assert str(file.signed.expires).endswith(expected)
    first = json.loads((folder / "1.root.json").read_bytes())["signed"]["roles"]["root"]["keyids"]
    r = run_cli("verify", str(folder), "--gun", gun, "--root-cert-id", first[0], "--json")
    assert r.returncode == 0, r.output
    report = json.loads(r.stdout)
    assert report["ok"] is True and report["errors"] == []
    # The trust dir of the client that made it verifies too.
    r = run_cli("verify", str(repo.owner.trust_dir), "--gun", gun, "--root-cert-id", first[0])
    assert r.returncode == 0, r.output
    # Expiry is an instant: one second before targets' expiry (in UTC) it verifies, one second
    # after it is expired, whatever zone the text is in.
    targets = read_metadata((folder / "targets.json").read_bytes(), "targets.json", Targets)
    root = read_metadata(root_bytes, "root.json", Root).signed
    keys, threshold = root.role_keys("targets"), root.roles["targets"].threshold
    verify_role(targets, "targets", keys, threshold, Instant(targets.signed.expires.ns - 10**9),
                None)
    with pytest.raises(ExpiredError):
        verify_role(targets, "targets", keys, threshold,
                    Instant(targets.signed.expires.ns + 10**9), None)
