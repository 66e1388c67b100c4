"""The air-gap check, proved in real network namespaces (unshare), not on a faked /proc."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

PROBE = (f"import json, sys; sys.path.insert(0, {str(ROOT)!r}); "
         "from ceremony.airgap import network_findings; print(json.dumps(network_findings()))")


def findings_in_new_namespace(setup: str) -> list[str]:
    """Run `setup` (shell) in a fresh network + mount namespace with its own sysfs, then ask."""
    script = f"mount -t sysfs sysfs /sys && {setup} {sys.executable} -c {PROBE!r}"
    proc = subprocess.run(["unshare", "--net", "--mount", "sh", "-c", script],
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def test_loopback_only_is_offline():
    assert findings_in_new_namespace("ip link set lo up &&") == []


def test_a_link_that_is_down_is_offline():
    assert findings_in_new_namespace("ip link add veth0 type veth peer name veth1 &&") == []


def test_an_interface_up_is_reported():
    found = findings_in_new_namespace(
        "ip link add veth0 type veth peer name veth1 && ip link set veth0 up &&")
    assert found == ["interface veth0 is up"]


def test_default_routes_are_reported():
    found = findings_in_new_namespace(
        "ip link add veth0 type veth peer name veth1 && ip link set veth0 up && "
        "ip route add default dev veth0 && ip -6 route add default dev veth0 &&")
    assert found == ["IPv4 default route via veth0", "IPv6 default route via veth0",
                     "interface veth0 is up"]
