"""What one TUF ceremony run holds: the offline choices (Choices) and the run's context
(Context: session, request, workspace view, keys made on tokens). Shared by ceremonies.py
(the frame's steps) and operations.py (each ceremony's files)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.ceremonies.session import Session
from ceremony.tuf.bundles import TufRequest
from ceremony.tuf.keys import Key, key_from_public
from ceremony.tuf.state import TufState


@dataclass(frozen=True)
class Choices:
    """What the offline side decides (the request says what is asked, not how it is signed)."""

    tokens: tuple[str, ...] = ()          # tokens holding keys that sign (root, targets)
    root_tokens: tuple[str, ...] = ()     # init, rotate-root: a root key made or reused on each
    remove_keys: tuple[str, ...] = ()     # rotate-root: key IDs (or unique prefixes) to remove
    root_threshold: int | None = None
    targets_token: str | None = None      # init, rotate-key targets: the targets key's token
    key_label: str = "tuf-root"
    targets_label: str = "tuf-targets"
    algorithm: str = "ecdsa-p256"
    root_expires: timedelta = timedelta(days=365)
    targets_expires: timedelta = timedelta(days=90)
    delegate_tokens: tuple[str, ...] = ()  # delegation add: a delegated key made on each
    delegate_label: str = "tuf-delegated"
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        return {"tokens": list(self.tokens), "root_tokens": list(self.root_tokens),
                "remove_keys": list(self.remove_keys), "root_threshold": self.root_threshold,
                "targets_token": self.targets_token, "key_label": self.key_label,
                "targets_label": self.targets_label, "algorithm": self.algorithm,
                "root_expires_days": self.root_expires.days,
                "targets_expires_days": self.targets_expires.days,
                "delegate_tokens": list(self.delegate_tokens),
                "delegate_label": self.delegate_label}


@dataclass
class Context:
    """One run: the session, the request, the workspace's view and the token keys found."""

    s: Session
    request: TufRequest
    request_sha256: str
    state: TufState
    choices: Choices
    made_keys: list[tuple[str, Key]] = field(default_factory=list)  # (token label, key)

    def key_on(self, uri: str, label: str, purpose: str) -> Key:
        """The key `label` on token `uri`, made there if absent (custody recorded)."""
        tokens = self.s.tokens
        token = tokens.open(uri, purpose=purpose)
        info, reused = tokens.generate_or_reuse(token, label, self.choices.algorithm)
        self.s.transcript.custody({**tokens.custody(token, info), "reused": reused,
                                   "purpose": purpose})
        if info.public_key is None:
            raise CeremonyRefused(f"key '{label}' on token '{token.label}' has no public key "
                                  "this tool can read; choose another label")
        key = key_from_public(info.public_key)
        self.made_keys.append((token.label, key))
        return key
