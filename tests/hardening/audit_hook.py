"""Installed as `sitecustomize` (copied into a temp dir put first on PYTHONPATH) in every
process a no-socket test starts: an audit hook that kills the process at the first socket
created, connected, bound or name looked up, and a report of the network modules loaded.

The report file (NO_SOCKET_REPORT) gets one JSON line per process: `armed` when the hook is
in, then at exit the network modules that were imported (FORBIDDEN of
tests/bundle/offline_probe.py, whose test checks imports and --help in-process; this extends it
to whole CLI runs). A socket event writes its name and ends the process with status 99 at once.
"""

import json
import os
import sys

FORBIDDEN_EVENTS = ("socket.__new__", "socket.connect", "socket.bind", "socket.getaddrinfo",
                    "socket.gethostbyname", "socket.sendto", "socket.sendmsg")
REPORT = os.environ.get("NO_SOCKET_REPORT")


def _write(record):
    if REPORT:
        with open(REPORT, "a", encoding="utf-8") as fh:
            fh.write(json.dumps(record) + "\n")


def _hook(event, args):
    if event in FORBIDDEN_EVENTS:
        _write({"pid": os.getpid(), "socket_event": event, "argv": sys.argv})
        os._exit(99)


def _at_exit():
    # The same list the in-process import check uses (one list, not two).
    from tests.bundle.offline_probe import FORBIDDEN
    loaded = [m for m in FORBIDDEN if m in sys.modules]
    _write({"pid": os.getpid(), "exit": True, "argv": sys.argv, "network_modules": loaded})


if REPORT:
    import atexit

    sys.addaudithook(_hook)
    atexit.register(_at_exit)
    _write({"pid": os.getpid(), "armed": True})
