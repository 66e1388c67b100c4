"""A P-384 token key signs `ecdsa-sha2-nistp384` (ECDSA over SHA-384, hashed by the tool, signed
on the token with CKM_ECDSA): python-tuf accepts the signature alone, and the TUF clients follow
a root rotation onto that key (python-tuf and go-tuf; tough 0.24 reads no P-384 keys)."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from tuf.api.metadata import Metadata

from ceremony.tuf.verify import verify_repository
from tests.tuf.peers import CLIENTS, serve
from tests.tuf.pytuf_repo import PyTufRepository, token_key


@pytest.fixture(scope="module")
def p384_repo(offline, tmp_path_factory):
    """A python-tuf repository whose root v2 (made by python-tuf) moves the root role to a
    P-384 key on token tuf-a; the tool signs it; a target is published after."""
    folder = tmp_path_factory.mktemp("p384")
    r = offline.run("key", "generate", "--token", "tuf-a", "--label", "p384", "--algorithm",
                    "ecdsa-p384", "--pin-source", offline.env.pin_source("tuf-a"))
    assert r.returncode == 0, r.output
    entry = offline.ok("tuf", "key", "--token", "tuf-a", "--label", "p384")
    assert entry["key"]["scheme"] == "ecdsa-sha2-nistp384"
    repo = PyTufRepository.create(folder / "repo")
    v1 = repo.stored["root"]
    old = repo.signers["root"][0].public_key.keyid

    def to_p384(root) -> None:
        root.revoke_key(old, "root")
        root.add_key(token_key(entry), "root")
    proposed, out = folder / "proposed.json", folder / "signed.json"
    proposed.write_bytes(repo.propose_root(to_p384))
    result = offline.sign(proposed, repo.metadata_dir / "1.root.json", out, "tuf-a")
    repo.store("root", out.read_bytes())
    repo.signers["root"] = []
    repo.add_target("targets", "files/p384.txt", b"after a rotation to a P-384 token key\n")
    repo.publish()
    return {"repo": repo, "entry": entry, "v1": v1, "out": out, "result": result}


def test_the_signature_is_ecdsa_p384_over_sha384(p384_repo):
    entry, md = p384_repo["entry"], Metadata.from_bytes(p384_repo["out"].read_bytes())
    sig = md.signatures[entry["keyid"]]
    # python-tuf (securesystemslib) checks the token's signature alone
    md.signed.verify_delegate("root", md.signed_bytes, {entry["keyid"]: sig})
    # and written out with `cryptography`: DER ECDSA over SHA-384 of the canonical `signed`
    public = token_key(entry)
    from cryptography.hazmat.primitives.serialization import load_pem_public_key
    key = load_pem_public_key(public.keyval["public"].encode())
    assert isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == "secp384r1"
    key.verify(bytes.fromhex(sig.signature), md.signed_bytes, ec.ECDSA(hashes.SHA384()))
    with pytest.raises(InvalidSignature):  # not SHA-256, as Notary's method makes
        key.verify(bytes.fromhex(sig.signature), md.signed_bytes, ec.ECDSA(hashes.SHA256()))


def test_the_tool_verifies_the_repository(p384_repo):
    report = verify_repository(p384_repo["repo"].metadata_dir)
    assert report is not None


# tough 0.24 is left out: it cannot read a P-384 key at all ("Failed to parse root metadata:
# Invalid SubjectPublicKeyInfo document"), whoever signed (docs/tuf.md says so).
@pytest.mark.parametrize("client", ["python-tuf", "go-tuf"])
def test_clients_follow_the_rotation_to_the_p384_key(p384_repo, client, tmp_path):
    repo = p384_repo["repo"]
    with serve(repo.folder) as url:
        result = CLIENTS[client](p384_repo["v1"], url, tmp_path, "files/p384.txt")
    assert result.ok, result.error
    assert result.root_version == 2
    assert result.content == b"after a rotation to a P-384 token key\n"
