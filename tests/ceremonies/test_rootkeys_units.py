"""Option parsing of the root-key ceremonies, in process (no token, no server)."""

from __future__ import annotations

import datetime as dt

import pytest

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.notary.ceremonies import renew, rootrotate
from ceremony.notary.ceremonies.renew import Renew
from ceremony.notary.ceremonies.rootkeys import parse_duration, parse_expiry
from ceremony.notary.ceremonies.rootrotate import RotateRoot

NOW = dt.datetime(2026, 1, 15, 12, 0, 0, tzinfo=dt.UTC)


def test_durations_and_dates():
    assert parse_duration("6m", "--x") == dt.timedelta(days=180)
    assert parse_duration("10y", "--x") == dt.timedelta(days=3650)
    assert parse_duration("0", "--x", allow_zero=True) == dt.timedelta(0)
    assert parse_expiry("3y", "--x", NOW) == NOW + dt.timedelta(days=1095)
    assert parse_expiry("2031-06-30", "--x", NOW) == dt.datetime(2031, 6, 30, tzinfo=dt.UTC)
    assert parse_expiry("2031-06-30T12:00:00Z", "--x", NOW).hour == 12
    for bad in ("", "6", "m", "-1y", "1.5y", "0d", "2031-02-30", "2026-01-15", "30000000y",
                "999999y", "9999-12-31"):
        with pytest.raises(CeremonyRefused, match="--x"):
            parse_expiry(bad, "--x", NOW)


def test_rotate_root_options():
    r = RotateRoot(replace=["root-a=pkcs11:token=root-c", f"{'ab' * 32}=root-d"])
    assert r.remove_tokens == ["root-a"] and r.remove_keys == ["ab" * 32]
    assert r.add_uris == ["pkcs11:token=root-c", "root-d"]
    with pytest.raises(CeremonyRefused, match="give --add-token, .* or --root-threshold"):
        rootrotate.PARAMS.build({"all": True}, cli=True)  # the table's rule: nothing to rotate
    cases = [({"replace": ["root-a"]}, "expected OLD=NEW"),
             ({"remove_keys": ["abc"]}, "64 hex digits"), ({"threshold": 0}, "at least 1"),
             ({"add_tokens": ["x"], "algorithm": "ed25519"}, "root keys must be one of")]
    for kwargs, message in cases:
        with pytest.raises(CeremonyRefused, match=message):
            RotateRoot(**kwargs)


def test_renew_options():
    with pytest.raises(CeremonyRefused, match="renew root or targets"):
        Renew(role="snapshot")
    # the role's rules are the table's (tests/ceremonies/test_param_rules.py)
    with pytest.raises(CeremonyRefused, match="^--role targets does not take --reissue-certs"):
        renew.PARAMS.build({"role": "targets", "all": True, "targets-token": "t",
                            "reissue-certs": True}, cli=True)
    with pytest.raises(CeremonyRefused, match="^--role root does not take --targets-token"):
        renew.PARAMS.build({"role": "root", "all": True, "partial": True,
                            "targets-token": "t"}, cli=True)
