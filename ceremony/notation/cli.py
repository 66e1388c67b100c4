"""`ceremony notation ...`: the Notary Project (notation) commands, a thin layer over this
package. Offline commands (ca, csr, sign-descriptors, verify, trust-store) refuse to run on a
networked machine when they use a private key, and never import the online module; `resolve`
and `attach` run on the online machine and import `registry` only when called.

PINs come from --pin-source (prompt, env:NAME, file:PATH) or the token URI, never argv.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import click
from cryptography.hazmat.primitives.serialization import Encoding

from ceremony.cli.common import build_ceremony, console, emit, json_option, table_options
from ceremony.notation import certs, tables
from ceremony.notation.cli_common import frame_options, load_csr, session_options
from ceremony.notation.cli_common import load_certs as _load_certs
from ceremony.notation.cli_common import offline as _offline
from ceremony.notation.cli_common import pool as _pool
from ceremony.notation.cli_common import token_key as _token_key
from ceremony.notation.errors import NotationError
from ceremony.notation.files import refuse_existing, write_atomic

force_option = click.option("--force", is_flag=True, help="Replace existing outputs.")

@click.group("notation")
def notation() -> None:
    """Notary Project (Notary v2, notation): CA on tokens, signatures for OCI artifacts."""


from ceremony.notation.ca_cli import _one_pin_source, _print_transcript, ca  # noqa: E402

notation.add_command(ca)


# --- keys, trust material ------------------------------------------------------------------

# `csr` is the csr ceremony of the script action `notation-csr` (review, confirmation,
# transcript, the request bundle for `ca issue`) when given --workspace. Without it, the
# compatibility mode of earlier releases: a loose PEM CSR, no review or transcript (a warning
# says so), without the parameters only the request bundle has.
CSR_FILE = replace(tables.CSR, params=tuple(p for p in tables.CSR.params
                                            if p.key not in ("algorithm", "name")))


@notation.command("csr")
@table_options(tables.CSR)
@click.option("--out", required=True, metavar="FILE",
              help="Where to write the request bundle (with --workspace) or the PEM CSR.")
@frame_options
def csr_command(out: str, **kw: Any) -> None:
    """A PKCS#10 CSR for a signing key on a token: with --workspace a ceremony (review, typed
    confirmation or --yes, transcript, the key in the workspace's inventory) writing a request
    bundle for `ca issue`; without, a loose PEM CSR (compatibility mode)."""
    if kw["workspace"]:
        r = build_ceremony(tables.CSR, kw)(session_options(kw, out), console(kw["as_json"]))
        emit(r, kw["as_json"], lambda d: (
            click.echo(f"request for {d['subject']} written to {d['response']}"),
            click.echo(f"  key sha256 {d['key_sha256']}"), _print_transcript(d)))
        return
    if kw.get("algorithm") or kw.get("name"):
        raise click.UsageError("--algorithm and --name need --workspace (the csr ceremony)")
    a = build_ceremony(CSR_FILE, {k: v for k, v in kw.items()
                                  if k not in ("algorithm", "name")}).keywords
    token, label, name = a["token"], a["label"], certs.parse_subject(a["subject"])
    refuse_existing([Path(out)], kw["force"])
    _offline(kw["allow_network"])
    with _pool(kw["module"], _one_pin_source(kw["pin_sources"])) as pool:
        csr = certs.signing_request(_token_key(pool, token, label), name)
    write_atomic(Path(out), csr.public_bytes(Encoding.PEM))
    click.echo("warning: not a ceremony (no review, confirmation or transcript); give "
               "--workspace DIR for the csr ceremony", err=True)
    if kw["as_json"]:
        emit({"out": out, "subject": name.rfc4514_string(), "ceremony": None}, True, print)
    else:
        click.echo(f"CSR for {name.rfc4514_string()} written to {out}")


@notation.command("trust-store")
@click.option("--root", "roots", multiple=True, required=True, metavar="FILE",
              help="Root CA certificate(s) to pin (e.g. CA-DIR/chain.pem's last).")
@click.option("--config-dir", required=True, metavar="DIR",
              help="notation's configuration folder (e.g. ~/.config/notation).")
@click.option("--store", default="notary-ceremony", show_default=True)
@click.option("--scope", "scopes", multiple=True, metavar="SCOPE",
              help="Registry scope (host/repository, or '*'); repeatable.")
@click.option("--identity", "identities", multiple=True, metavar="SUBJECT",
              help="Trusted signer subject, e.g. 'C=US, ST=WA, O=Example, CN=ci'; default *.")
@force_option
def trust_store(roots: tuple[str, ...], config_dir: str, store: str, scopes: tuple[str, ...],
                identities: tuple[str, ...], force: bool) -> None:
    """Write notation's trust store and trust policy pinning the root CA(s)."""
    from ceremony.notation.truststore import write_trust_material
    pinned = [_load_certs(r)[-1] for r in roots]
    for cert in pinned:
        if cert.issuer != cert.subject:
            raise NotationError(f"{cert.subject.rfc4514_string()} is not a root (self-signed)")
    written = write_trust_material(Path(config_dir), store, pinned, scopes=list(scopes),
                                   identities=list(identities), force=force)
    for path in written:
        click.echo(f"wrote {path}")


# --- signing and verifying -------------------------------------------------------------------

from ceremony.notation.sign_cli import sign_descriptors, verify_command  # noqa: E402

notation.add_command(sign_descriptors)
notation.add_command(verify_command)


@notation.group("request")
def request_group() -> None:
    """Request bundles for the offline CA (carried across with `ceremony transfer`)."""


@request_group.command("csr")
@click.option("--csr", "csr_paths", multiple=True, required=True, metavar="FILE",
              help="A PKCS#10 CSR (PEM or DER) from a signer; repeatable.")
@click.option("--out", required=True, metavar="REQ", help="The request bundle to write.")
@force_option
@json_option
def request_csr(csr_paths: tuple[str, ...], out: str, force: bool, as_json: bool) -> None:
    """Pack CSRs into a notation request bundle for `ceremony notation ca issue`."""
    from ceremony.notation.bundles import csr_request
    from ceremony.notation.rules import check_csr
    from transfer.summary import digest_lines
    from transfer.systembundle import write_system_bundle
    refuse_existing([Path(out)], force)
    csrs = []
    for path in csr_paths:
        csr = load_csr(path)
        try:
            check_csr(csr)  # refused here already: the offline side would refuse it anyway
        except NotationError as exc:
            raise NotationError(f"{path}: {exc}") from None
        csrs.append((Path(path).name.removesuffix(".csr").removesuffix(".pem"), csr))
    names = [n for n, _ in csrs]
    if len(set(names)) != len(names):
        raise NotationError("two CSRs have the same file name: rename one (the name labels "
                            "its certificate in the response)")
    bundle = csr_request(csrs)
    write_system_bundle(out, bundle, overwrite=force)
    emit({"out": out, "csrs": names, "bundle_sha256": bundle.digest_hex}, as_json, lambda d: (
        click.echo(f"request for {len(d['csrs'])} certificate(s) written to {d['out']}"),
        [click.echo(f"  {line}") for line in digest_lines(bundle)]))


@notation.command("unpack")
@click.option("--response", required=True, metavar="RESP",
              help="A response of `ca issue`, `ca revoke` or `ca crl`.")
@click.option("--out-dir", required=True, metavar="DIR")
@force_option
@json_option
def unpack_command(response: str, out_dir: str, force: bool, as_json: bool) -> None:
    """Write the certificates (NAME.chain.pem) or the CRL (crl.pem, crl.der, ca.crt) that a
    response carries, for signers and verifiers."""
    from ceremony.notation import bundles
    bundle = bundles.read(response, "response", "issued", "crl")
    files = bundles.unpack(bundle.content)
    folder = Path(out_dir)
    refuse_existing([folder / n for n in files], force)
    for name, data in files.items():
        write_atomic(folder / name, data)
    emit({"out_dir": out_dir, "files": sorted(files), "bundle_sha256": bundle.digest_hex},
         as_json, lambda d: click.echo(f"wrote {', '.join(d['files'])} to {d['out_dir']}"))


@notation.command("resolve")
@click.argument("references", nargs=-1, required=True)
@click.option("--out", required=True, metavar="REQ",
              help="The request bundle of descriptors, for `sign-descriptors --request`.")
@force_option
@json_option
def resolve(references: tuple[str, ...], out: str, force: bool, as_json: bool) -> None:
    """ONLINE: resolve references in an OCI registry to descriptors (digest checked) and pack
    them into a notation request bundle."""
    from ceremony.notation.bundles import sign_request
    from ceremony.notation.registry import Reference, Registry
    from transfer.summary import digest_lines
    from transfer.systembundle import write_system_bundle
    refuse_existing([Path(out)], force)
    artifacts = []
    for text in references:
        ref = Reference.parse(text)
        desc = Registry(ref.host).resolve(ref)
        artifacts.append((str(ref), desc))
        if not as_json:
            click.echo(f"{ref} -> {desc.digest} ({desc.media_type}, {desc.size} bytes)")
    bundle = sign_request(artifacts)
    write_system_bundle(out, bundle, overwrite=force)
    emit({"out": out, "artifacts": len(artifacts), "bundle_sha256": bundle.digest_hex},
         as_json, lambda d: [click.echo(line) for line in
                             [f"request written to {d['out']}", *digest_lines(bundle)]])


@notation.command("attach")
@click.option("--response", metavar="RESP",
              help="The response bundle of `ceremony notation sign-descriptors --request`.")
@click.option("--signatures", metavar="DIR",
              help="Compatibility: the output folder of `sign-descriptors --out-dir`.")
def attach_command(response: str | None, signatures: str | None) -> None:
    """ONLINE: attach signatures to their artifacts (referrers API or tag schema)."""
    from ceremony.notation.payload import Descriptor
    from ceremony.notation.registry import Reference, Registry, attach
    if bool(response) == bool(signatures):
        raise click.UsageError("give --response RESP (or, compatibility, --signatures DIR)")
    if response:
        from ceremony.notation import bundles
        bundle = bundles.read(response, "response", "signatures")
        items = bundles.read_signatures(bundle.content)
        click.echo(f"response {response}: bundle sha256 {bundle.digest_hex}")
    else:
        from ceremony.notation.sign_cli import read_signatures
        items = read_signatures(Path(signatures or ""))
    for entry, envelope in items:
        ref = Reference.parse(entry["reference"])
        registry = Registry(ref.host)
        subject = Descriptor.from_dict(entry["descriptor"])
        current = registry.resolve(Reference(ref.host, ref.repo, None, subject.digest))
        if not current.same_artifact(subject):
            raise NotationError(f"{ref} is no longer the signed manifest; sign again")
        desc = attach(registry, ref.repo, subject, envelope, entry["mediaType"],
                      entry["thumbprints"])
        click.echo(f"attached {entry['mediaType']} signature {desc.digest} to "
                   f"{ref.host}/{ref.repo}@{subject.digest}")
