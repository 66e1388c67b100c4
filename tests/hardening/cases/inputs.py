"""The good inputs that the rows break, made once per session."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.bundle.helpers import sample_request, sample_response
from tests.hardening.cases.notary import root_pem_of
from tests.hardening.cases.rows import GUN, Inputs


def make_inputs(folder: Path, hsm_env: dict[str, str], hsm_root: Path, pin_source: str
                ) -> Inputs:
    """Good inputs for every kind; `folder` is scratch space for the transcript."""
    from cryptography.hazmat.primitives.asymmetric import ec

    from ceremony.notary.format import DelegatedRole, Key, Role, Targets, key_from_public_key
    from ceremony.transcript import Transcript
    from tests.metadata.factory import SoftRepo

    repo = SoftRepo.create(GUN)
    repo.add_delegation("targets/releases")
    repo.add_target("targets/releases", "app-1.0.tar.gz")
    repo.refresh()
    files = {f"{role}.json": data for role, data in repo.files.items()}
    files.update({f"{n}.root.json": data for n, data in repo.root_history.items()})

    def files_of(variant: SoftRepo) -> dict[str, bytes]:
        out = {f"{role}.json": data for role, data in variant.files.items()}
        out.update({f"{n}.root.json": d for n, d in variant.root_history.items()})
        # the good repository's delegation file does not belong to a variant
        out.update({other: None for other in files if other not in out})  # type: ignore
        return out

    bad: dict[str, dict[str, bytes]] = {}
    # A plain targets key whose public part is a PEM certificate, not DER, listed under its
    # own (right) ID in a re-signed root; targets.json carries a signature naming it.
    variant = SoftRepo.create(GUN)
    (old_id,) = variant.root.role_keys("targets")
    pem_key = Key("ecdsa", root_pem_of(variant.files["root"]))
    del variant.root.keys[old_id]
    variant.root.keys[pem_key.key_id] = pem_key
    variant.root.roles["targets"] = Role([pem_key.key_id], 1)
    variant.sign_root()
    targets_obj = json.loads(variant.files["targets"])
    targets_obj["signatures"] = [{"keyid": pem_key.key_id, "method": "ecdsa",
                                  "sig": base64.b64encode(bytes(64)).decode()}]
    variant.files["targets"] = json.dumps(targets_obj, separators=(",", ":")).encode()
    variant.refresh()
    bad["targets key as PEM"] = files_of(variant)
    for name in ("targets/../../etc", "targets/r\u0435leases", "targets/\u202esesaeler",
                 "targets/Releases"):
        variant = SoftRepo.create(GUN)
        key = key_from_public_key(ec.generate_private_key(ec.SECP256R1()).public_key())

        def delegate(t: Targets, n: str = name, k: Key = key) -> None:
            t.delegations.keys[k.key_id] = k
            t.delegations.roles.append(DelegatedRole(n, [k.key_id], 1, [""]))
        variant.modify("targets", delegate)
        variant.refresh()
        bad[name] = files_of(variant)

    log = folder / "good.jsonl"
    with Transcript.create(log, ceremony="hardening", participants=["A", "B"]) as t:
        for n in range(3):
            t.append("note", {"i": n})
    from cryptography.hazmat.primitives import serialization
    signer_private = ec.generate_private_key(ec.SECP256R1())
    public_pem = signer_private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    private_pem = signer_private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    return Inputs(request=sample_request().to_bytes(), response=sample_response().to_bytes(),
                  bundle_for_qr=sample_request(n_guns=3).to_bytes(), repository=files,
                  bad_repositories=bad, transcript=log.read_bytes(), hsm_env=hsm_env,
                  hsm_root=hsm_root, pin_source=pin_source, public_pem=public_pem,
                  private_pem=private_pem)

