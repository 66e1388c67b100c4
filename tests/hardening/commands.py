"""Every leaf command of the CLI, and what it may do with the network: THE table to extend.

Adding a command (or merging a branch that adds one) makes tests/hardening/test_every_command.py
fail, naming it, until it has a row in CLASSES below. To add one:

1. Put `"group sub": ONLINE | OFFLINE_KEY | OFFLINE | ANYWHERE` into CLASSES.
2. OFFLINE_KEY: add its arguments to REFUSAL_ARGS (arguments good enough to pass its own
   checks, so that the network check is what refuses it; placeholders are listed at `inputs`).
3. A command with --out/--out-dir: add its arguments to OUTPUT_ARGS (the output already
   exists; it must be refused without --force, nothing changed).
4. OFFLINE, OFFLINE_KEY and ANYWHERE: run it for real under the socket audit hook, in
   tests/hardening/test_every_command_sockets.py (or test_no_sockets.py), and name it in
   HOOKED_RUNS with the test that does.

Classes:
- ONLINE: talks to a server (notary-server, an OCI registry); runs on the online machine.
- OFFLINE_KEY: uses a private key on a token: refuses a machine with a network up (one line,
  naming what is up) unless --allow-network, before any token is asked anything.
- OFFLINE: the offline machine's commands that use no private key; never open a socket.
- ANYWHERE: file-only commands used on either machine (transfer, unpacking, trust stores);
  never open a socket either. A command run on the online machine that only reads and writes
  files (`tuf request`, `tuf apply`: the online service fetches and serves) is ANYWHERE too.
"""

from __future__ import annotations

import click

ONLINE = "online"
OFFLINE_KEY = "offline-key"
OFFLINE = "offline"
ANYWHERE = "anywhere"

CLASSES: dict[str, str] = {
    # Notary v1
    "token list": OFFLINE,
    "token keys": OFFLINE,  # logs in, reads public objects only
    "key generate": OFFLINE_KEY,
    "key cert": OFFLINE_KEY,
    "key export": OFFLINE,  # the public key only
    "verify": OFFLINE,
    "transcript verify": ANYWHERE,
    "transfer send": ANYWHERE,
    "transfer receive": ANYWHERE,
    "online fetch": ONLINE,
    "online publish": ONLINE,
    "init": OFFLINE_KEY,
    "signer add": OFFLINE_KEY,
    "signer remove": OFFLINE_KEY,
    "delegation add": OFFLINE_KEY,
    "delegation remove": OFFLINE_KEY,
    "rotate root": OFFLINE_KEY,
    "rotate targets": OFFLINE_KEY,
    "renew": OFFLINE_KEY,
    "sign": OFFLINE_KEY,
    "status": OFFLINE,
    "merge": OFFLINE_KEY,  # a ceremony step: refused on a network like the signing ones
    "pin": OFFLINE_KEY,  # anchors trust in the workspace: same frame, same refusal
    "pins": OFFLINE,
    "run": OFFLINE_KEY,
    "adopt import": OFFLINE_KEY,
    "adopt repository": OFFLINE_KEY,
    # Notary Project (notation)
    "notation ca init": OFFLINE_KEY,
    "notation ca intermediate": OFFLINE_KEY,
    "notation ca issue": OFFLINE_KEY,
    "notation ca revoke": OFFLINE_KEY,
    "notation ca crl": OFFLINE_KEY,
    "notation ca export": OFFLINE,
    "notation ca show": OFFLINE,
    "notation csr": OFFLINE_KEY,
    "notation request csr": ANYWHERE,
    "notation sign-descriptors": OFFLINE_KEY,
    "notation unpack": ANYWHERE,
    "notation verify": ANYWHERE,
    "notation trust-store": ANYWHERE,
    "notation resolve": ONLINE,
    "notation attach": ONLINE,
    # TUF
    "tuf key": OFFLINE,  # reads the public key only
    "tuf sign": OFFLINE_KEY,
    "tuf verify": ANYWHERE,
    # The TUF ceremonies (docs/tuf.md): the offline half uses the tokens' keys.
    "tuf init": OFFLINE_KEY,
    "tuf rotate-root": OFFLINE_KEY,
    "tuf rotate-key": OFFLINE_KEY,
    "tuf delegation add": OFFLINE_KEY,
    "tuf delegation remove": OFFLINE_KEY,
    "tuf renew": OFFLINE_KEY,
    "tuf sign-request": OFFLINE_KEY,
    # Their online half: run on the online machine but only read and write files (the
    # repository's metadata folder, bundles); fetching and serving the metadata is the online
    # service's own job. File-only, so ANYWHERE: held to never opening a socket.
    "tuf request": ANYWHERE,
    "tuf request-sign": ANYWHERE,
    "tuf apply": ANYWHERE,  # writes the response's files into the metadata folder
    "tuf response-file": ANYWHERE,
}

# Placeholders (made by test_every_command.inputs): {gun} {req} notary request bundle,
# {resp} response bundle, {pub} signer public key, {ws} workspace, {out} output file,
# {outdir} output folder, {pin} PIN source, {nreq} notation CSR request, {sreq} notation
# sign request, {csr} a CSR file, {script} a ceremony script, {root1} a TUF 1.root.json,
# {troot2} its root v2 moving the root role to root-a's key 'root' (python-tuf's), {tufmeta}
# that repository's metadata folder, TUF requests {tinit} {troot} {tkey} {tdeladd} {tdelrm}
# {trenew} (test_every_command.TUF_REQUESTS), {tsreq} a TUF "sign" request (of that root v2)
# and {tresp} its complete response.
_P = ("--pin-source", "{pin}")
_NOTARY = ("--request", "{req}", "--out", "{out}", "--workspace", "{ws}", "--yes", *_P)
_CA = ("--workspace", "{ws}", "--yes", *_P)
_TUF = ("--workspace", "{ws}", "--out", "{out}", "--yes", *_P)

REFUSAL_ARGS: dict[str, tuple[str, ...]] = {
    "key generate": ("key", "generate", "--token", "root-a", "--label", "new", *_P),
    "key cert": ("key", "cert", "--token", "root-a", "--label", "root", "--gun", "{gun}",
                 "--out", "{out}", *_P),
    "init": ("init", "{gun}", "--root-token", "root-a", "--targets-token", "targets",
             *_NOTARY),
    "signer add": ("signer", "add", "{gun}", "alice", "--key", "{pub}", "--targets-token",
                   "targets", *_NOTARY),
    "signer remove": ("signer", "remove", "{gun}", "alice", "--targets-token", "targets",
                      *_NOTARY),
    "delegation add": ("delegation", "add", "{gun}", "targets/releases", "--key", "{pub}",
                       "--all-paths", "--targets-token", "targets", *_NOTARY),
    "delegation remove": ("delegation", "remove", "{gun}", "targets/releases",
                          "--targets-token", "targets", *_NOTARY),
    "rotate root": ("rotate", "root", "{gun}", "--root-token", "root-a", "--add-token",
                    "targets", *_NOTARY),
    "rotate targets": ("rotate", "targets", "{gun}", "--targets-token", "targets",
                       "--root-token", "root-a", *_NOTARY),
    "renew": ("renew", "{gun}", "--role", "root", "--root-token", "root-a", *_NOTARY),
    "sign": ("sign", "{resp}", "--token", "root-a", "--out", "{out}", "--workspace", "{ws}",
             "--yes", *_P),
    "merge": ("merge", "{resp}", "{resp}", "--out", "{out}", "--workspace", "{ws}"),
    "pin": ("pin", "{gun}", "--request", "{req}", "--root-cert-id", "ab" * 32, "--workspace",
            "{ws}"),
    "run": ("run", "{script}", "--yes", "--workspace", "{ws}", "--out-dir", "{outdir}", *_P),
    "adopt import": ("adopt", "import", "{gun}", "--request", "{req}", "--workspace", "{ws}",
                     "--root-cert-id", "ab" * 32),
    "adopt repository": ("adopt", "repository", "{gun}", "--root-key-file", "{pub}",
                         "--root-passphrase-source", "env:NEVER_READ", "--root-token", "root-a",
                         "--targets-token", "targets", *_NOTARY),
    "notation ca init": ("notation", "ca", "init", "--token", "root-a", "--label", "ca",
                         "--subject", "C=US, ST=WA, O=Example, CN=Root", "--out", "{out}",
                         *_CA),
    "notation ca intermediate": ("notation", "ca", "intermediate", "--token", "targets",
                                 "--label", "inter", "--subject",
                                 "C=US, ST=WA, O=Example, CN=Issuing", "--out", "{out}", *_CA),
    "notation ca issue": ("notation", "ca", "issue", "--request", "{nreq}", "--out", "{out}",
                          *_CA),
    "notation ca revoke": ("notation", "ca", "revoke", "--serial", "abc123", "--out", "{out}",
                           *_CA),
    "notation ca crl": ("notation", "ca", "crl", "--out", "{out}", *_CA),
    "notation csr": ("notation", "csr", "--token", "root-a", "--label", "root", "--subject",
                     "C=US, ST=WA, O=Example, CN=signer", "--out", "{out}", *_P),
    "notation sign-descriptors": ("notation", "sign-descriptors", "--request", "{sreq}",
                                  "--out", "{out}", "--token", "root-a", "--label", "root",
                                  *_CA),
    "tuf sign": ("tuf", "sign", "{troot2}", "--trusted", "{root1}", "--token", "root-a",
                 "--out", "{out}", "--yes", *_P),
    "tuf init": ("tuf", "init", "--request", "{tinit}", "--root-token", "root-a",
                 "--targets-token", "targets", *_TUF),
    "tuf rotate-root": ("tuf", "rotate-root", "--request", "{troot}", "--token", "root-a",
                        "--root-token", "targets", *_TUF),
    "tuf rotate-key": ("tuf", "rotate-key", "--request", "{tkey}", "--token", "root-a",
                       "--targets-token", "targets", *_TUF),
    "tuf delegation add": ("tuf", "delegation", "add", "--request", "{tdeladd}", "--token",
                           "root-a", *_TUF),
    "tuf delegation remove": ("tuf", "delegation", "remove", "--request", "{tdelrm}",
                              "--token", "root-a", *_TUF),
    "tuf renew": ("tuf", "renew", "--request", "{trenew}", "--token", "root-a", *_TUF),
    "tuf sign-request": ("tuf", "sign-request", "--request", "{tsreq}", "--token", "root-a",
                         *_TUF),
}

# Commands with --out/--out-dir, run with that output already there (no --force).
OUTPUT_ARGS: dict[str, tuple[str, ...]] = {
    **{name: args for name, args in REFUSAL_ARGS.items() if "{out}" in args},
    "key export": ("key", "export", "--token", "root-a", "--label", "root", "--out", "{out}"),
    "transfer send": ("transfer", "send", "{resp}", "--out", "{out}"),
    "transfer receive": ("transfer", "receive", "--stdin", "--out", "{out}"),
    "pins": ("pins", "{gun}", "--workspace", "{ws}", "--out", "{outdir}"),
    "run": REFUSAL_ARGS["run"],
    "notation ca export": ("notation", "ca", "export", "--workspace", "{ws}", "--out-dir",
                           "{outdir}"),
    "notation request csr": ("notation", "request", "csr", "--csr", "{csr}", "--out", "{out}"),
    "notation unpack": ("notation", "unpack", "--response", "{nresp}", "--out-dir",
                        "{outdir}"),
    "notation trust-store": ("notation", "trust-store", "--root", "{cacert}", "--config-dir",
                             "{outdir}", "--scope", "*"),
    "online fetch": ("online", "fetch", "{gun}", "--server", "https://127.0.0.1:9", "--out",
                     "{out}"),
    "notation resolve": ("notation", "resolve", "localhost:9/app:1", "--out", "{out}"),
    "tuf request": ("tuf", "request", "--repo", "{tufmeta}", "--name", "demo", "--operation",
                    "renew", "--renew-role", "targets", "--out", "{out}"),
    "tuf request-sign": ("tuf", "request-sign", "--repo", "{tufmeta}", "--name", "other",
                         "--proposed", "{root1}", "--out", "{out}"),
    "tuf response-file": ("tuf", "response-file", "--response", "{tresp}", "--request",
                          "{tsreq}", "--out", "{out}"),
}

# Bad input for a command with an output: its input files are replaced by garbage; a command
# that reads no input file gets a bad argument instead, here. Nothing may be written.
INPUT_FILES = ("req", "resp", "pub", "nreq", "sreq", "csr", "script", "root1", "nresp",
               "cacert", "tufmeta", "tinit", "troot", "tkey", "tdeladd", "tdelrm", "trenew",
               "tsreq", "tresp", "troot2")
BAD_ARGS: dict[str, tuple[str, ...]] = {
    "key cert": ("key", "cert", "--token", "root-a", "--label", "root", "--gun", "Bad/GUN",
                 "--out", "{out}", *_P),
    "key export": ("key", "export", "--token", "root-a", "--label", "no-such-key", "--out",
                   "{out}"),
    "transfer receive": ("transfer", "receive", "--stdin", "--out", "{out}"),  # stdin: junk
    # sends any file (a non-bundle is shown by its file digest): a missing one is bad input
    "transfer send": ("transfer", "send", "{resp}.missing", "--out", "{out}"),
    "pins": ("pins", "Bad/GUN", "--workspace", "{ws}", "--out", "{outdir}"),
    "notation ca init": ("notation", "ca", "init", "--token", "root-a", "--label", "ca",
                         "--subject", "CN=", "--out", "{out}", *_CA),
    "notation ca intermediate": ("notation", "ca", "intermediate", "--token", "targets",
                                 "--label", "inter", "--subject", "CN=", "--out", "{out}",
                                 *_CA),
    "notation ca revoke": ("notation", "ca", "revoke", "--serial", "not-hex", "--out",
                           "{out}", *_CA),
    "notation ca crl": ("notation", "ca", "crl", "--valid-for", "soon", "--out", "{out}",
                        *_CA),
    "notation ca export": ("notation", "ca", "export", "--workspace", "{ws}", "--ca",
                           "no-such-ca", "--out-dir", "{outdir}"),
    "notation csr": ("notation", "csr", "--token", "root-a", "--label", "root", "--subject",
                     "CN=", "--out", "{out}", *_P),
    "online fetch": ("online", "fetch", "Bad/GUN", "--server", "https://127.0.0.1:9", "--out",
                     "{out}"),
    "notation resolve": ("notation", "resolve", "not a reference", "--out", "{out}"),
}

# An --out-dir command: the file of its own it finds already there (else {out} exists).
EXISTING_IN_OUT_DIR: dict[str, str] = {
    "pins": "root.json",
    "run": "x.bundle",  # the script's transfer-send step copies to x.bundle
    "notation ca export": "ca.crt",
    "notation unpack": "signer.chain.pem",
    "notation trust-store": "trustpolicy.json",
}

# Commands with an output but no --force, and why: they refuse an existing output outright.
NO_FORCE: dict[str, str] = {
    "run": "a script's outputs are never replaced: the user moves them away or uses --resume",
}

# Where each non-online command is run for real under the socket audit hook.
HOOKED_RUNS: dict[str, str] = {
    **{name: "test_no_sockets.py::test_offline_commands_open_no_socket" for name in (
        "token list", "token keys", "key generate", "key export", "key cert", "verify",
        "transfer send", "transfer receive", "transcript verify")},
    **{name: "test_no_sockets.py::test_key_ceremonies_open_no_socket" for name in (
        "init", "signer add", "rotate targets", "status")},
    **{name: "test_every_command_sockets.py::test_notation_commands_open_no_socket"
       for name in ("notation ca init", "notation ca intermediate", "notation ca issue",
                    "notation ca revoke", "notation ca crl", "notation ca export",
                    "notation ca show", "notation csr", "notation request csr",
                    "notation sign-descriptors", "notation unpack", "notation verify",
                    "notation trust-store")},
    **{name: "test_every_command_sockets.py::test_notary_ceremonies_open_no_socket"
       for name in ("signer remove", "delegation add", "delegation remove", "rotate root",
                    "renew", "pins", "pin", "adopt import", "adopt repository", "sign",
                    "merge", "run")},
    **{name: "test_every_command_sockets.py::test_tuf_commands_open_no_socket"
       for name in ("tuf key", "tuf sign", "tuf verify")},
    **{name: "test_every_command_sockets.py::test_tuf_ceremonies_open_no_socket"
       for name in ("tuf request", "tuf init", "tuf apply", "tuf rotate-root", "tuf rotate-key",
                    "tuf delegation add", "tuf renew", "tuf delegation remove",
                    "tuf request-sign", "tuf sign-request", "tuf response-file")},
}


def leaf_commands() -> dict[str, click.Command]:
    """Every leaf command of `ceremony`, by its words ("notation ca init"), walking the real
    click tree (lazy groups included), so that a new command shows up here by itself."""
    from ceremony.cli import cli
    found: dict[str, click.Command] = {}

    def walk(cmd: click.Command, words: list[str], parent: click.Context | None) -> None:
        if isinstance(cmd, click.Group):
            ctx = click.Context(cmd, info_name=words[-1] if words else "ceremony",
                                parent=parent)
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, f"{' '.join([*words, name])} is listed but not found"
                walk(sub, [*words, name], ctx)
        else:
            found[" ".join(words)] = cmd

    walk(cli, [], None)
    return found


def option_names(cmd: click.Command) -> set[str]:
    return {opt for p in cmd.params for opt in getattr(p, "opts", ()) if opt.startswith("--")}
