"""The headers both envelope formats carry (signature-specification.md, "Signed attributes"
and "Unsigned attributes"), written and read once. JWS and COSE differ only in how they spell
the registered headers (names or integer labels) and times (RFC 3339 strings or CBOR tag 1):
each format gives a `Spelling`, and the rules here apply to both.

Reading refuses, each in one line: an algorithm that is not a Notary Project one, another
payload content type or signing scheme, a critical header this verifier cannot check (or one
marked critical that is absent), the signing scheme or expiry not marked critical, a missing
signing time, times of the wrong type or form, and unprotected members the specification does
not name.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from ceremony.notation.errors import EnvelopeError
from ceremony.notation.payload import (
    AGENT,
    AUTHENTIC_TIME,
    EXPIRY,
    PAYLOAD_CONTENT_TYPE,
    SCHEME,
    SIGNING_AGENT,
    SIGNING_SCHEME,
    SIGNING_TIME,
    TIMESTAMP,
)
from ceremony.notation.strict import ENVELOPE

T = TypeVar("T")
_LABELS = (str, int)  # a header's name (JWS, COSE) or integer label (COSE); never a bool
NOTARY_PROTECTED = frozenset({SCHEME, SIGNING_TIME, EXPIRY, AUTHENTIC_TIME})
MAX_CHAIN = 10  # certificates in a chain: leaf, intermediates, root


@dataclass(frozen=True)
class Spelling:
    """How an envelope format writes the registered headers and times."""

    fmt: str  # "JWS", "COSE": names the format in refusals
    alg: Any
    crit: Any
    cty: Any
    chain: Any  # the unprotected header holding the certificate chain
    write_time: Callable[[dt.datetime], Any]
    read_time: Callable[[Any, str], dt.datetime]  # (value, where) -> aware datetime

    @property
    def known_protected(self) -> frozenset[Any]:
        return frozenset({self.alg, self.crit, self.cty}) | NOTARY_PROTECTED

    @property
    def known_unprotected(self) -> frozenset[Any]:
        return frozenset({self.chain, AGENT, TIMESTAMP})

    # --- writing --------------------------------------------------------------------------

    def protected(self, alg: Any, signing_time: dt.datetime,
                  expiry: dt.datetime | None) -> dict[Any, Any]:
        """The protected header of a signature this tool makes."""
        out: dict[Any, Any] = {self.alg: alg, self.crit: [SCHEME] + ([EXPIRY] if expiry else []),
                               self.cty: PAYLOAD_CONTENT_TYPE, SCHEME: SIGNING_SCHEME,
                               SIGNING_TIME: self.write_time(signing_time)}
        if expiry:
            out[EXPIRY] = self.write_time(expiry)
        return out

    def unprotected(self, chain: Any) -> dict[Any, Any]:
        return {self.chain: chain, AGENT: SIGNING_AGENT}

    # --- reading --------------------------------------------------------------------------

    def read_protected(self, protected: Any, algorithms: Mapping[Any, T]
                       ) -> tuple[T, dt.datetime, dt.datetime | None]:
        """(algorithm, signing time, expiry) of a protected header, checked."""
        where = f"{self.fmt} protected header"
        _check_map(protected, where)
        alg = protected.get(self.alg)
        if type(alg) not in _LABELS or alg not in algorithms:
            raise EnvelopeError(f"{self.fmt} alg {alg!r} is not a Notary Project algorithm "
                                f"({', '.join(map(str, algorithms))})")
        if protected.get(self.cty) != PAYLOAD_CONTENT_TYPE:
            raise EnvelopeError(f"{self.fmt} content type must be {PAYLOAD_CONTENT_TYPE}")
        if protected.get(SCHEME) != SIGNING_SCHEME:
            raise EnvelopeError(f"signing scheme {protected.get(SCHEME)!r} is not supported "
                                f"(only {SIGNING_SCHEME})")
        crit = protected.get(self.crit)
        if type(crit) not in (list, tuple) or not crit or any(type(c) not in _LABELS for c in crit):
            raise EnvelopeError(f"{self.fmt} crit must be a non-empty array of header labels")
        self._check_critical(protected, crit)
        expiry = protected.get(EXPIRY)
        return (algorithms[alg], self.read_time(protected[SIGNING_TIME], f"{where} {SIGNING_TIME}"),
                None if expiry is None else self.read_time(expiry, f"{where} {EXPIRY}"))

    def _check_critical(self, protected: Mapping[Any, Any], crit: list[Any]) -> None:
        # The signing scheme (and the expiry when present) must be critical; a critical header
        # this verifier cannot check, or one that is absent, refuses the signature.
        must = {SCHEME} | ({EXPIRY} if EXPIRY in protected else set())
        if not must <= set(crit):
            raise EnvelopeError(f"{self.fmt} headers {sorted(must - set(crit))} must be marked "
                                "critical")
        unknown = [c for c in crit if c not in self.known_protected or c not in protected]
        if unknown:
            raise EnvelopeError(f"{self.fmt} critical header(s) {unknown} are unknown or "
                                "missing: refusing a signature with requirements this verifier "
                                "cannot check")
        if SIGNING_TIME not in protected:
            raise EnvelopeError(f"{self.fmt}: {SIGNING_TIME} is missing")

    def read_unprotected(self, header: Any) -> tuple[Any, str | None]:
        """(the chain's raw value, the signing agent) of an unprotected header, checked."""
        where = f"{self.fmt} unprotected header"
        _check_map(header, where)
        extra = set(header) - self.known_unprotected
        if extra:
            raise EnvelopeError(f"{where}: unknown member(s) {sorted(map(str, extra))}")
        agent = header.get(AGENT)
        if agent is not None:
            ENVELOPE.string(agent, f"{where} {AGENT}", max_len=1024)
        return header.get(self.chain), agent


def _check_map(value: Any, where: str) -> None:
    # A JSON object, or a CBOR map (cbor2 reads maps inside a tag as frozendicts).
    if not isinstance(value, Mapping):
        raise EnvelopeError(f"{where}: expected a map of headers, got {type(value).__name__}")
