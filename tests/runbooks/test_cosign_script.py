"""Co-signing steps in a script: a root rotation two keyholders short, signed by each at
"their site" (`sign`), the two partial signings combined (`merge`), published and verified
by the real client -- rehearsed end to end."""

from __future__ import annotations

import json

from tests.runbooks.conftest import ceremony

SCRIPT = """\
format: notary-ceremony-script/1
ceremony:
  name: Co-signed root rotation
  purpose: a 3-of-3 root gains a fourth key; only root-a is at the first site
  guns: [example.com/cosign]
participants:
  - {name: Alice Admin, role: ceremony administrator}
inputs:
  rotate-request:
    kind: request
    path: rotate.request
    sha256: "0000000000000000000000000000000000000000000000000000000000000000"
tokens:
  root-a: {uri: "pkcs11:token=root-a"}
  root-b: {uri: "pkcs11:token=root-b"}
  root-c: {uri: "pkcs11:token=root-c"}
  root-d: {uri: "pkcs11:token=root-d"}
steps:
  - id: rotate
    do: rotate-root
    request: rotate-request
    guns: [example.com/cosign]
    root-tokens: [root-a]
    add-tokens: [root-d]
    partial: true
    out: rotate.partial
    expect: {complete: false}
  - id: sign-b
    do: sign
    response: rotate
    tokens: [root-b]
    out: rotate-b.partial
    expect: {complete: false}
  - id: sign-c
    do: sign
    response: rotate
    tokens: [root-c]
    out: rotate-c.partial
    expect: {complete: false}
  - id: merged
    do: merge
    a: sign-b
    b: sign-c
    out: rotate.response
    expect: {complete: true, versions: {root: 2}}
  - id: verify
    do: verify
    bundle: merged
rehearsal:
  tokens: [targets]
  setup:
    - id: setup-init
      do: init
      root-tokens: [root-a, root-b, root-c]
      root-threshold: 3
      targets-token: targets
"""


def test_sign_and_merge_steps(tmp_path):
    script = tmp_path / "cosign.yaml"
    script.write_text(SCRIPT)
    folder = tmp_path / "reh"
    r = ceremony("run", str(script), "--dry-run", "--yes", "--rehearsal-dir", str(folder))
    assert r.returncode == 0, r.output[-3000:]
    assert r.stdout.count("PARTIAL (co-signing needed)") == 3
    # the merged root v2 verifies offline as the next link of the chain this workspace trusts
    # (co-signed roots become trusted when a later request shows them published)
    assert "VERIFIED root, targets (anchored at trusted root version 1" in r.stdout
    assert "verified root v2, cached and fresh" in r.stdout
    transcript = next((folder / "workspace" / "transcripts").glob("*-run-*.jsonl"))
    entries = [json.loads(line) for line in transcript.read_text().splitlines()]
    ceremonies = [e["data"]["ceremony"] for e in entries if e["kind"] == "ceremony-start"]
    assert ceremonies == ["init", "rotate-root", "sign", "sign", "merge"]
    ends = {e["data"]["step"]: e["data"]["outcome"] for e in entries if e["kind"] == "step-end"}
    assert set(ends.values()) == {"completed"}
