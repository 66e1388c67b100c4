"""The whole repository: every rule of verify.py applied to a set of files, into one report.

`verify_repository` reads each file strictly, walks the root chain from the pinned or trusted
root, checks timestamp -> snapshot -> targets -> delegations as a Notary client would, and
collects every error and warning in a RepositoryReport instead of stopping at the first.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from ceremony.errors import (
    DelegationError,
    MetadataError,
    MetadataFormatError,
    MissingMetadataError,
    RollbackError,
    RootChainError,
    VerificationError,
)
from ceremony.notary.format.keys import Key
from ceremony.notary.format.model import (
    ROOT,
    SNAPSHOT,
    TARGETS,
    TIMESTAMP,
    Instant,
    Root,
    Snapshot,
    Targets,
    Timestamp,
)
from ceremony.notary.format.report import (
    KeyReport,
    RepositoryReport,
    RoleReport,
    RootVersionReport,
)
from ceremony.notary.format.repository import RepositoryFiles
from ceremony.notary.format.serialization import MetadataFile, read_metadata
from ceremony.notary.format.verify import (
    ThresholdCheck,
    TrustedRoot,
    _public_identity,
    check_threshold,
    delegation_name_problem,
    require_matches,
    require_no_rollback,
    restrict_paths,
    targets_outside,
    verify_role,
    verify_root_chain,
)

T = TypeVar("T")


# --- the whole repository ------------------------------------------------------------------------

def _read(report: RepositoryReport, data: bytes, name: str, expected: type) -> MetadataFile | None:
    try:
        return read_metadata(data, name, expected)
    except MetadataError as exc:
        report.errors.append(exc)
        return None


def _attempt(report: RepositoryReport, action: Callable[..., T], *args: Any) -> T | None:
    """Run one check; a VerificationError is recorded and verification goes on."""
    try:
        return action(*args)
    except VerificationError as exc:
        report.errors.append(exc)
        return None


def _role_report(name: str, file: MetadataFile | None, keys: Mapping[str, Key],
                 threshold: int | None, check: ThresholdCheck | None) -> RoleReport:
    role = RoleReport(name, threshold=threshold,
                      keys=[KeyReport.of(kid, key) for kid, key in keys.items()])
    if file is not None:
        role.file, role.version = file.name, file.signed.version
        role.expires, role.go_exact = file.signed.expires, file.go_exact
    if check is not None:
        role.signatures, role.signed_by = check.signatures, check.signed_by
    return role


def verify_repository(files: RepositoryFiles, gun: str, *, at: Instant | None = None,
                      root_cert_ids: Sequence[str] = (), trusted_root: bytes | None = None,
                      trusted_versions: Mapping[str, int] | None = None,
                      read: dict[str, MetadataFile] | None = None) -> RepositoryReport:
    """Verify a repository's metadata offline and report everything found.

    - `at`: the time to verify as of (default: now);
    - `root_cert_ids`: pinned root certificate IDs (like `trust_pinning.certs`);
    - `trusted_root`: bytes of a root already trusted (the chain must contain or follow it);
    - `trusted_versions`: role -> lowest acceptable version (rollback protection);
    - `read`: if given, filled with the current files as read here (role -> MetadataFile: root,
      the top-level roles and delegations), so a caller that goes on when the report is ok
      uses the very objects verified instead of parsing the same bytes again.
    Never raises for bad metadata: errors are in `report.errors` (`report.raise_for_errors()`).
    """
    at = at if at is not None else Instant.now()
    trusted_versions = dict(trusted_versions or {})
    report = RepositoryReport(gun=gun, verified_at=at, source=files.source,
                              pinned_cert_ids=list(root_cert_ids))
    for name in files.ignored:
        report.warn(f"{name}: not used (only current role files and N.root.json are read)")

    trusted = _verify_roots(report, files, gun, at, root_cert_ids, trusted_root,
                            trusted_versions.get(ROOT))
    if trusted is None:
        return report
    root = trusted.root
    if read is not None and ROOT in files.roles:
        read[ROOT] = trusted.file  # the chain's newest is root.json (an older one is refused)

    current: dict[str, MetadataFile | None] = {ROOT: trusted.file}
    for role, cls in ((TIMESTAMP, Timestamp), (SNAPSHOT, Snapshot), (TARGETS, Targets)):
        if role not in files.roles:
            report.errors.append(MissingMetadataError("not found", file=f"{role}.json"))
            current[role] = None
            continue
        current[role] = _read(report, files.roles[role], f"{role}.json", cls)
        if read is not None and current[role] is not None:
            read[role] = current[role]  # type: ignore[assignment]

    for role in (TIMESTAMP, SNAPSHOT, TARGETS):
        keys, threshold = root.role_keys(role), root.roles[role].threshold
        file = current[role]
        check = None
        if file is not None:
            check = _attempt(report, verify_role, file, role, keys, threshold, at,
                             trusted_versions.get(role))
        entry = _role_report(role, file, keys, threshold, check)
        if file is not None and check is None:
            entry.signatures = check_threshold(file, role, keys, threshold).signatures
        entry.verified = check is not None
        report.roles.append(entry)

    timestamp, snapshot = current[TIMESTAMP], current[SNAPSHOT]
    if timestamp is not None and snapshot is not None:
        _attempt(report, require_matches, snapshot, timestamp.signed.meta[SNAPSHOT], timestamp)

    delegation_files: dict[str, MetadataFile] = {}
    for name, data in files.roles.items():
        if name.startswith("targets/"):
            file = _read(report, data, f"{name}.json", Targets)
            if file is not None:
                delegation_files[name] = file
                if read is not None:
                    read[name] = file

    if snapshot is not None:
        described = {ROOT: trusted.file, TARGETS: current[TARGETS], **delegation_files}
        for name, file in described.items():
            if file is None:
                continue
            meta = snapshot.signed.meta.get(name)
            if meta is None:
                if name.startswith("targets/"):
                    report.warn(f"{file.name}: not listed in snapshot.json, so clients never "
                                "load it")
                continue
            _attempt(report, require_matches, file, meta, snapshot)

    targets = current[TARGETS]
    if targets is not None:
        entry = report.role(TARGETS)
        assert entry is not None
        entry.targets = len(targets.signed.targets)
        if entry.verified:
            _verify_delegations(report, targets, delegation_files, snapshot, at,
                                trusted_versions)

    for file in [trusted.file, *current.values(), *delegation_files.values()]:
        if file is not None and not file.go_exact:
            report.warn(f"{file.name}: bytes differ from what Notary writes for the same "
                        "content (another encoder wrote it); signatures were checked the way "
                        "Notary checks them")
    return report


def _verify_roots(report: RepositoryReport, files: RepositoryFiles, gun: str, at: Instant,
                  root_cert_ids: Sequence[str], trusted_root: bytes | None,
                  trusted_version: int | None) -> TrustedRoot | None:
    """Read the root history and the current root, and verify the chain."""
    if ROOT not in files.roles and not files.root_history:
        report.errors.append(MissingMetadataError("not found (nor any N.root.json)",
                                                  file="root.json"))
        return None
    try:
        chain = _root_chain(files)
        # Usually the trusted root is one of the chain's files, byte for byte: the same bytes
        # read the same way, so that file stands for it (and is verified once).
        same = [file for file in chain if file.raw == trusted_root]
        trusted_file = (same[0] if same else read_metadata(trusted_root, "trusted root", Root)
                        if trusted_root is not None else None)
        warnings: list[str] = []
        trusted = verify_root_chain(chain, gun, at, pinned_cert_ids=root_cert_ids,
                                    trusted=trusted_file, warnings=warnings)
        for text in warnings:
            report.warn(text)
        require_no_rollback(trusted.file, ROOT, trusted_version)
    except MetadataError as exc:
        report.errors.append(exc)
        return None
    report.trust = trusted.mode
    report.anchor_version = trusted.steps[0].file.signed.version
    for step in trusted.steps:
        root = step.file.signed
        report.root_chain.append(RootVersionReport(
            root.version, step.file.name, root.expires, list(root.roles[ROOT].keyids),
            root.roles[ROOT].threshold, list(step.own.signed_by),
            list(step.previous.signed_by) if step.previous is not None else None))
    newest = trusted.steps[-1]
    root = newest.file.signed
    entry = _role_report(ROOT, newest.file, root.role_keys(ROOT), root.roles[ROOT].threshold,
                         newest.own)
    if newest.previous is not None:  # signatures the rotation needed from the previous root keys
        by_previous = set(newest.previous.signed_by)
        for sig in entry.signatures:
            if sig.status == "ignored" and sig.key_id in by_previous:
                sig.detail = (f"key of root version {root.version - 1}, valid: counted for the "
                              "rotation to this version")
    entry.verified = True
    report.roles.append(entry)
    return trusted


def _root_chain(files: RepositoryFiles) -> list[MetadataFile[Root]]:
    """The roots in version order: N.root.json history, then root.json where it continues it."""
    history = {}
    for number, data in sorted(files.root_history.items()):
        name = RepositoryFiles.history_name(number)
        file = read_metadata(data, name, Root)
        if file.signed.version != number:
            raise RootChainError(f"holds root version {file.signed.version}", file=name)
        history[number] = file
    if history:
        numbers = sorted(history)
        missing = sorted(set(range(numbers[0], numbers[-1] + 1)) - set(numbers))
        if missing:
            raise RootChainError(f"root history is missing version(s) "
                                 f"{', '.join(map(str, missing))}",
                                 file=RepositoryFiles.history_name(missing[0]))
    if ROOT not in files.roles:
        return [history[n] for n in sorted(history)]
    data = files.roles[ROOT]
    same = [file for file in history.values() if file.raw == data]
    # root.json is normally the newest N.root.json again: the same bytes are not parsed twice
    current = (_renamed(same[0], "root.json") if same
               else read_metadata(data, "root.json", Root))
    version = current.signed.version
    if not history:
        return [current]
    newest = max(history)
    if version < newest:
        raise RollbackError(f"root.json is version {version}, older than "
                            f"{RepositoryFiles.history_name(newest)}", file="root.json")
    if version in history:
        if history[version].raw != current.raw:
            raise RootChainError(f"root.json differs from {history[version].name} though both "
                                 f"are root version {version}", file="root.json")
        history[version] = current  # the same bytes: messages name it root.json
        return [history[n] for n in sorted(history)]
    return [*(history[n] for n in sorted(history)), current]


def _renamed(file: MetadataFile[Root], name: str) -> MetadataFile[Root]:
    """The same file read under another name (messages name it `name`)."""
    return MetadataFile(name, file.raw, file.metadata, file.signed_bytes, file.go_exact,
                        file.checked)


def _verify_delegations(report: RepositoryReport, targets: MetadataFile[Targets],
                        files: Mapping[str, MetadataFile[Targets]],
                        snapshot: MetadataFile[Snapshot] | None, at: Instant,
                        trusted_versions: Mapping[str, int]) -> None:
    """Walk the delegation tree from targets.json, verifying every delegated file present."""
    reached: set[str] = set()
    pending: list[tuple[MetadataFile[Targets], str, list[str]]] = [(targets, TARGETS, [""])]
    while pending:
        parent_file, parent, parent_paths = pending.pop(0)
        seen: set[str] = set()
        for role in parent_file.signed.delegations.roles:
            problem = delegation_name_problem(role.name, parent)
            if problem:
                # ascii(): a look-alike letter or a bidi control is shown escaped, never as is
                report.errors.append(DelegationError(f"delegation {ascii(role.name)}: {problem}",
                                                     file=parent_file.name))
                continue
            if role.name in seen:
                report.errors.append(DelegationError(f"{role.name} is listed twice",
                                                     file=parent_file.name))
                continue
            seen.add(role.name)
            reached.add(role.name)
            keys = {kid: parent_file.signed.delegations.keys[kid] for kid in role.keyids}
            paths, outside = restrict_paths(parent_paths, role.paths)
            for path in outside:
                report.warn(f"{parent_file.name}: {role.name} path {path!r} is outside the "
                            f"paths of {parent}; Notary ignores it")
            if not role.paths:
                report.warn(f"{parent_file.name}: {role.name} has no paths, so it cannot sign "
                            "any target")
            distinct = ({_safe_identity(key) for key in keys.values()}
                        if len(keys) >= role.threshold > 1 else keys)
            if len(distinct) < role.threshold:
                report.warn(f"{parent_file.name}: {role.name} needs {role.threshold} "
                            f"signatures but lists {len(distinct)} distinct key(s)")
            file = files.get(role.name)
            entry = _role_report(role.name, file, keys, role.threshold, None)
            entry.parent, entry.paths = parent, list(role.paths)
            report.roles.append(entry)
            if file is None:
                if snapshot is not None and role.name in snapshot.signed.meta:
                    report.warn(f"{role.name}: listed in snapshot.json but {role.name}.json is "
                                "not here; not verified")
                continue
            if snapshot is not None and role.name not in snapshot.signed.meta:
                continue  # reported with the snapshot checks
            check = _attempt(report, verify_role, file, role.name, keys, role.threshold, at,
                             trusted_versions.get(role.name))
            if check is None:
                entry.signatures = check_threshold(file, role.name, keys,
                                                   role.threshold).signatures
                continue
            entry.signatures, entry.signed_by, entry.verified = (check.signatures,
                                                                 check.signed_by, True)
            ignored = targets_outside(file.signed, paths)
            for name in ignored[:5]:
                report.warn(f"{file.name}: target {name!r} is outside the paths of "
                            f"{role.name}; clients ignore it")
            if len(ignored) > 5:
                report.warn(f"{file.name}: {len(ignored) - 5} more targets outside the paths "
                            f"of {role.name}")
            entry.targets = len(file.signed.targets) - len(ignored)
            pending.append((file, role.name, paths))
    for name, file in files.items():
        if name not in reached:
            report.warn(f"{file.name}: no role delegates {name}; clients ignore the file")


def _safe_identity(key: Key) -> bytes | str:
    try:
        return _public_identity(key)
    except MetadataError:
        return key.key_id


def parse_at(text: str) -> Instant:
    """A --at value: RFC 3339 / ISO 8601; without a zone it is UTC."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise MetadataFormatError(f"--at {text!r} is not an ISO 8601 / RFC 3339 time") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        moment = moment.astimezone(dt.UTC)  # a zone can push it out of years 1..9999
    except OverflowError:
        raise MetadataFormatError(f"--at {text!r} is outside the years 1 to 9999 in UTC") \
            from None
    return Instant.from_datetime(moment)
