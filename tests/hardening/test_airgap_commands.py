"""`key generate` and `key cert` use private keys: they run on an air-gapped machine, refuse one
with a network up (naming what is up) unless --allow-network, and touch no token when refusing.

Proved in real network namespaces (unshare), with real SoftHSM tokens, not on a faked /proc.
"""

from __future__ import annotations

import json

import pytest

from tests.conftest import AIRGAPPED, run_cli

# Namespaces as a network cable would leave them: an interface up; a default route too.
VETH_UP = ("unshare", "--net", "--mount", "sh", "-c",
           "mount -t sysfs sysfs /sys && ip link set lo up && "
           "ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
           'exec "$0" "$@"')
ROUTED = ("unshare", "--net", "--mount", "sh", "-c",
          "mount -t sysfs sysfs /sys && ip link set lo up && "
          "ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
          "ip addr add 192.0.2.10/24 dev veth0 && ip route add default via 192.0.2.1 && "
          'exec "$0" "$@"')
GUN = "example.com/airgap/app"


@pytest.fixture(scope="module")
def hsm(softhsm_factory):
    return softhsm_factory("airgap", ["root-a"])


def ceremony(hsm, *args, wrapper=()):
    return run_cli(*args, env=hsm.env, wrapper=wrapper)


def labels(hsm) -> list[str]:
    r = ceremony(hsm, "token", "keys", "root-a", "--pin-source", hsm.pin_source("root-a"),
                 "--json")
    assert r.returncode == 0, r.output
    return sorted(k["label"] for k in json.loads(r.stdout)["keys"])


def one_line_error(r) -> str:
    assert r.returncode == 1, r.output
    assert "Traceback" not in r.output
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def test_generate_and_cert_work_offline_and_are_refused_online(hsm, tmp_path):
    pin = ("--pin-source", hsm.pin_source("root-a"))
    generate = ("key", "generate", "--token", "root-a", "--label", "root", *pin)
    # An interface up: refused before the token is asked for anything, the interface named.
    line = one_line_error(ceremony(hsm, *generate, wrapper=VETH_UP))
    assert "not air-gapped (interface veth0 is up)" in line and "--allow-network" in line
    # A default route too: both named.
    line = one_line_error(ceremony(hsm, *generate, wrapper=ROUTED))
    assert "IPv4 default route via veth0" in line and "interface veth0 is up" in line
    assert labels(hsm) == []  # nothing was generated

    # Loopback only: an air-gapped machine. Works, and says nothing about the network.
    r = ceremony(hsm, *generate, wrapper=AIRGAPPED)
    assert r.returncode == 0 and r.stderr == "", r.output
    assert labels(hsm) == ["root"]

    cert = ("key", "cert", "--token", "root-a", "--label", "root", "--gun", GUN, *pin)
    out = tmp_path / "root.crt"
    line = one_line_error(ceremony(hsm, *cert, "--out", str(out), wrapper=ROUTED))
    assert "IPv4 default route via veth0" in line
    assert not out.exists()
    r = ceremony(hsm, *cert, "--out", str(out), wrapper=AIRGAPPED)
    assert r.returncode == 0 and r.stderr == "" and out.is_file(), r.output

    # --allow-network: goes on, and says what is up on stderr (there is no transcript here).
    other = tmp_path / "again.crt"
    r = ceremony(hsm, *cert, "--out", str(other), "--allow-network", wrapper=ROUTED)
    assert r.returncode == 0, r.output
    assert r.stderr.startswith("warning: the machine is not air-gapped (")
    assert "interface veth0 is up" in r.stderr and other.is_file()


def test_bad_arguments_are_refused_before_the_network_check(hsm, tmp_path):
    """A typo is reported as such even on a networked machine: no need to unplug it first."""
    r = ceremony(hsm, "key", "cert", "--token", "root-a", "--label", "root", "--gun",
                 "Example.com/App", "--out", str(tmp_path / "c.pem"), wrapper=ROUTED)
    assert "must be lowercase" in one_line_error(r)
    r = ceremony(hsm, "key", "generate", "--token", "root-a", "--label", "x", "--algorithm",
                 "dsa", wrapper=ROUTED)
    assert "unsupported algorithm" in one_line_error(r)
