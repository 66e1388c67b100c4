"""Pieces several ceremonies share: choosing GUNs, lifetimes, the offline snapshot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from ceremony.ceremonies.errors import CeremonyRefused
from ceremony.errors import MetadataError
from ceremony.notary.ceremonies.build import LIFETIMES, expiry
from ceremony.notary.ceremonies.request import RepoState
from ceremony.notary.ceremonies.runner import Plan, Run, SnapshotPlan
from ceremony.notary.ceremonies.signing import Threshold
from ceremony.notary.format.model import ROOT, SNAPSHOT, Instant, Root
from transfer.bundle import RequestBundle, RequestEntry


def select_guns(request: RequestBundle, guns: Sequence[str], all_guns: bool) -> list[RequestEntry]:
    """The request entries for `guns` (each must be in the request), or all with `all_guns`
    (one or the other: the ceremony's parameter table says so, params.GUNS_OR_ALL)."""
    if all_guns:
        return list(request.entries)
    if len(set(guns)) != len(guns):
        raise CeremonyRefused("a GUN is named twice")
    present = set(request.guns)
    absent = [g for g in guns if g not in present]
    if absent:
        raise CeremonyRefused(f"the request has no repository {', '.join(absent)} (it holds "
                              f"{', '.join(request.guns[:5])}"
                              f"{' ...' if len(request.guns) > 5 else ''})")
    wanted = set(guns)
    return [e for e in request.entries if e.gun in wanted]


def lifetime_expiry(role: str, lifetime: dt.timedelta | None, now: dt.datetime) -> Instant:
    return expiry(lifetime if lifetime is not None else LIFETIMES[role], now)


def root_expiry(lifetime: dt.timedelta | None, now: dt.datetime, root: Root) -> Instant:
    """The expiry of a root re-signed with the same root keys: `lifetime` if given, else the
    default 10 years capped at the first expiry of the root certificates it keeps listing (a
    root cannot outlive its certificates: a default ceremony then has nothing to warn about;
    `renew --reissue-certs` extends both)."""
    wanted = expiry(lifetime if lifetime is not None else LIFETIMES[ROOT], now)
    if lifetime is not None:
        return wanted
    ends = []
    for kid in root.roles[ROOT].keyids:
        try:
            ends.append(root.keys[kid].certificates[0].not_valid_after_utc)
        except (MetadataError, IndexError, KeyError, ValueError):
            continue
    # Capped only where that still moves root forward; certificates that end even before the
    # current root are left to the review's warning (re-issue them: renew --reissue-certs).
    if ends and root.expires.to_datetime() < min(ends) < wanted.to_datetime():
        return Instant.from_datetime(min(ends).replace(microsecond=0))
    return wanted


def offline_snapshot(run: Run, state: RepoState) -> bool:
    """Whether this machine holds the snapshot key the trusted root lists (an offline
    snapshot, re-signed here whenever root or targets change); otherwise the server holds
    it and makes the snapshot."""
    return any(run.ws.key(kid) is not None for kid in state.root.roles[SNAPSHOT].keyids)


def snapshot_preflight(run: Run, state: RepoState) -> list[tuple[str, Threshold]]:
    if not offline_snapshot(run, state):
        return []
    root = state.root
    return [(state.gun, Threshold(f"snapshot keys listed in root v{root.version} (offline "
                                  "snapshot)", SNAPSHOT, root.roles[SNAPSHOT].threshold,
                                  root.role_keys(SNAPSHOT)))]


def preflight_for(run: Run, state: RepoState, role: str, what: str
                  ) -> list[tuple[str, Threshold]]:
    """What must sign for `state`: the keys its trusted root lists for `role` (named `what` in
    the review), and the snapshot keys where the snapshot is offline."""
    root = state.root
    return [(state.gun, Threshold(what, role, root.roles[role].threshold, root.role_keys(role))),
            *snapshot_preflight(run, state)]


def snapshot_plan(run: Run, state: RepoState, lifetime: dt.timedelta | None,
                  removed: Sequence[str] = ()) -> SnapshotPlan | None:
    if not offline_snapshot(run, state):
        return None
    return SnapshotPlan(state.snapshot, lifetime_expiry(SNAPSHOT, lifetime, run.now), list(removed))


def note_shortening(plan: Plan, gun: str, role: str, old: Instant, new: Instant) -> None:
    """A new expiry EARLIER than the current one is said first in the review and needs its
    own confirmation (runner.confirm_shortening)."""
    if new.to_datetime() < old.to_datetime():
        message = f"{gun} {role}.json expiry moves EARLIER: {old} -> {new}"
        plan.notes.insert(0, f"WARNING: {message} (it SHORTENS the lifetime; confirm with "
                             "--allow-shorter or by typing shorten)")
        plan.shortened.append(message)
