"""Drives `rstuf admin ceremony --dry-run --out PAYLOAD` (repository-service-tuf 1.0.0b1)
through a pty, as an RSTUF operator would answer it: default expiries, hash bins, root
threshold 2 with two public keys (the operator's key and the token key), a file-based online
key, then the operator signs with their key only and continues, one signature short.

Run by tests/tuf/test_rstuf_cli.py with RSTUF's own virtualenv (scripts/tuf-peers):
    python ceremony.py OUT_DIR ADMIN_PUB ADMIN_KEY ADMIN_PASSWORD_FILE TOKEN_PUB ONLINE_PUB
Exits non-zero with the screen's tail when a prompt does not come.
"""

import os
import re
import sys

import pexpect

DOWN, ENTER, CLEAR = "\x1b[B", "\r", "\x15"  # arrow down, enter, ctrl-U (clear a default)


def main() -> int:
    out_dir, admin_pub, admin_key, password_file, token_pub, online_pub = sys.argv[1:7]
    with open(password_file) as fh:
        password = fh.read().strip()
    rstuf = os.path.join(os.path.dirname(sys.executable), "rstuf")
    child = pexpect.spawn(rstuf, ["admin", "ceremony", "--dry-run", "--out", "payload.json"],
                          cwd=out_dir, encoding="utf-8", timeout=30, dimensions=(50, 200),
                          env={"TERM": "xterm", "HOME": out_dir,
                               "PATH": os.environ.get("PATH", "/usr/bin:/bin")})
    # A menu (beaupy) switches the terminal to raw mode after drawing itself, dropping keys
    # typed before: every answer waits a moment after its prompt shows.
    child.delaybeforesend = 0.5
    screen = []
    child.logfile_read = _Tail(screen)
    if os.environ.get("RSTUF_DRIVER_LOG"):
        child.logfile_read = open(os.environ["RSTUF_DRIVER_LOG"], "w")

    waiting = [""]

    def step(prompt: str, answer: str) -> None:
        waiting[0] = prompt
        child.expect(prompt)
        child.send(answer)

    try:
        for role in ("timestamp", "snapshot", "targets"):
            step(f"expiry for '{role}'", ENTER)
        step(re.escape("Bins (online key only)"), ENTER)
        step("expiry for 'bins'", ENTER)
        step("number of delegated hash bins", ENTER)
        step("expiry for 'root'", ENTER)
        step("'root' threshold", "2" + ENTER)
        for path, name, menu in ((admin_pub, "rstuf-admin", "add"),
                                 (token_pub, "offline-token", "continue")):
            step("Select a key type", "")
            step("Sigstore", DOWN + ENTER)                 # "Key PEM File"
            step("PUBLIC", path + ENTER)
            step("key name", CLEAR + name + ENTER)
            step(menu, ENTER)                  # the first option: "add", then "continue"
        step("Online Key type", "")
        step("HashiCorp Vault", DOWN * 4 + ENTER)          # "Key PEM File"
        step("PUBLIC", online_pub + ENTER)
        step("key name", CLEAR + "online" + ENTER)
        step("Select a key for signing", "")
        child.send(_choose(child, "rstuf-admin"))
        step("Key PEM File", DOWN + ENTER)
        step("to encrypted private key", admin_key + ENTER)
        step("password", password + ENTER)
        step("Select a key for signing or continue", "")
        step("continue", ENTER)                            # one signature short: ours
        child.expect(pexpect.EOF, timeout=60)
    except (pexpect.TIMEOUT, pexpect.EOF):
        sys.stderr.write(f"rstuf ceremony: no {waiting[0]!r} prompt; screen tail:\n")
        sys.stderr.write(re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", "".join(screen))[-3000:])
        return 1
    child.close()
    return child.exitstatus or 0


def _choose(child: pexpect.spawn, name: str) -> str:
    """The arrow keys that select `name` in the signing menu (its keys in rstuf's order)."""
    child.expect(r"to confirm\)")
    menu = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", child.before)
    options = [line.strip().lstrip("> ").strip() for line in menu.splitlines()
               if line.strip().lstrip("> ").strip() in ("rstuf-admin", "offline-token")]
    return DOWN * options.index(name) + ENTER


class _Tail:
    def __init__(self, screen: list) -> None:
        self.screen = screen

    def write(self, text: str) -> None:
        self.screen.append(text)
        del self.screen[:-200]

    def flush(self) -> None:
        pass


if __name__ == "__main__":
    sys.exit(main())
