"""The rehearsal's online side: a real notary-server on 127.0.0.1, the real notary client, and
the people around the ceremony (a delegate with their own key). Rehearsals (--dry-run) only.

This is network code (it imports ceremony.notary.online and the loopback server harness); offline
commands never import it -- `ceremony run` loads it only for a dry run.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

from ceremony.notary.online import fetch_request, publish_response
from ceremony.scripts.context import Context, Produced, StepFailed
from ceremony.scripts.record import path_sha256
from ceremony.scripts.schema import Step
from ceremony.scripts.steps import file_sha, step_guns, words
from groundfloor.files import atomic_write
from groundfloor.names import gun_dirname
from softhsm.notary_server import NotaryClient, NotaryServer
from transfer.bundle import read_bundle, write_bundle

# The rehearsal's throwaway passphrase of the client key files it makes (never a real one).
REHEARSAL_PASSPHRASE_ENV = "CEREMONY_REHEARSAL_KEY_PASSPHRASE"


class World:
    """A Notary server and clients for one rehearsal, in `folder`."""

    def __init__(self, folder: Path, transfer: str = "file"):
        self.folder = folder
        self.transfer = transfer
        self.server: NotaryServer | None = None
        self.pins: dict[str, list[str]] = {}  # GUN -> root cert IDs at its first publication
        self.cached: dict[str, NotaryClient] = {}  # GUN -> a client that keeps its trust data
        self.delegate_keys: dict[str, Path] = {}  # public key path -> private key path
        self.client_keys: dict[tuple[str, str], Path] = {}  # (GUN, role) -> software key file
        self.fresh = 0

    # --- the server ------------------------------------------------------------------------
    def start(self, ctx: Context) -> NotaryServer:
        if self.server is None:
            import shutil
            if shutil.which("notary-server") is None or shutil.which("notary") is None:
                raise StepFailed("the rehearsal needs the real notary-server and notary client "
                                 "(Debian package 'notary'; scripts/bootstrap installs it)")
            self.server = NotaryServer(self.folder / "notary-server").start()
            ctx.say(f"  rehearsal: a real notary-server listens on {self.server.url} with "
                    "notary-signer behind it (ECDSA timestamp and snapshot keys, as Docker Hub "
                    "runs it; TLS from a throwaway CA, memory storage, loopback only)")
            ctx.transcript.append("rehearsal", {"action": "server", "url": self.server.url,
                                                "trust_service": self.server.trust_service})
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def _record(self, ctx: Context, action: str, **data: Any) -> None:
        ctx.transcript.append("rehearsal", {"action": action, **data})

    # --- requests and responses ------------------------------------------------------------
    def request(self, ctx: Context, guns: list[str], operation: str | None, dest: Path,
                step_id: str, *, auto: bool = True, snapshot_key: str = "auto") -> Produced:
        """Fetch a request as the online machine would; with transfer qr it crosses the gap
        as QR frames (PNG files written, then read back and checked)."""
        server = self.start(ctx)
        op = operation or "init"
        ctx.say(f"  online machine: ceremony online fetch {' '.join(guns[:3])}"
                f"{' ...' if len(guns) > 3 else ''} --operation {op} --server {server.url} "
                f"--ca {server.ca} --out {dest.name}")
        bundle = fetch_request(server.url, guns, ca=server.ca, operation=op,
                               snapshot_key=snapshot_key)
        fetched = dest.with_name(dest.name + ".online") if self.transfer == "qr" else dest
        write_bundle(fetched, bundle, overwrite=True)
        ctx.say(f"  request bundle sha256 {bundle.digest_hex}\n  request words  "
                f"{words(bundle.digest_hex)}")
        self._record(ctx, "fetch", step=step_id, guns=guns, operation=op,
                     sha256=file_sha(fetched), bundle_sha256=bundle.digest_hex)
        if self.transfer == "qr":
            self.cross(ctx, fetched, dest, step_id, "request")
        return Produced(step_id, "request", dest, file_sha(dest), bundle.digest_hex, auto=auto)

    def cross(self, ctx: Context, source: Path, dest: Path, step_id: str, what: str) -> None:
        """QR frames as PNG files, then read back from the images: the gap crossed."""
        from transfer.qr.capture import iter_images
        from transfer.qr.encoder import default_extra, plan_series
        from transfer.qr.outputs import write_image_frames
        from transfer.qr.receiver import Receiver, receive_from
        from transfer.qr.render import DENSITIES, symbol_for
        data = source.read_bytes()
        series = plan_series(data, DENSITIES["default"])
        frames = self.folder / "qr" / f"{step_id}-{what}"
        frames.parent.mkdir(parents=True, exist_ok=True)
        write_image_frames(series, symbol_for(series.key, "M"), frames,
                           default_extra(series.count), "png", True)
        received = receive_from(iter_images([frames]), Receiver())
        if received.data != data:
            raise StepFailed(f"step {step_id}: the {what} read back from QR frames differs")
        atomic_write(dest, received.data, overwrite=True)
        ctx.say(f"  gap crossing: {series.count} data + {default_extra(series.count)} extra QR "
                f"frames written as PNG to {frames}, read back: {len(data)} bytes, sha256 "
                f"{received.hex[:16]}... ({received.words}) identical")
        self._record(ctx, "qr-crossing", step=step_id, what=what, frames=str(frames),
                     sha256=received.hex)

    def frames_for(self, ctx: Context, step: Step, images: bool) -> Produced:
        """Stand-in frames for a transfer-receive step reading a real input: the request its
        consuming ceremony step needs, as QR PNGs (or text lines)."""
        from transfer.qr.encoder import default_extra, plan_series
        from transfer.qr.outputs import write_image_frames
        from transfer.qr.render import DENSITIES, symbol_for
        consumer = next((s for s in ctx.script.steps if s.params.get("request") == step.id),
                        None)
        if consumer is None:
            raise StepFailed(f"step {step.id}: no later step reads what it receives")
        offline_snapshot = consumer.do == "init" and "snapshot-token" in consumer.params
        request = self.request(ctx, step_guns(ctx, consumer), consumer.spec.operation,
                               ctx.out_path(step, f"{step.id}.online.request"), step.id,
                               snapshot_key="never" if offline_snapshot else "auto")
        data = request.path.read_bytes()  # type: ignore[union-attr]
        series = plan_series(data, DENSITIES["default"])
        extra = default_extra(series.count)
        if images:
            dest = ctx.out_path(step, f"{step.id}-frames")
            write_image_frames(series, symbol_for(series.key, "M"), dest, extra, "png", True)
        else:
            dest = ctx.out_path(step, f"{step.id}-frames.txt")
            atomic_write(dest, "".join(series.frame(i) + "\n" for i in range(
                1, series.count + extra + 1)).encode(), overwrite=True)
        return Produced(step.id, "frames", dest, path_sha256(dest), auto=True)

    def after_response(self, ctx: Context, step: Step, produced: Produced) -> None:
        """What the online machine does after the ceremony: publish, then check with the
        real client."""
        self.publish(ctx, produced, step.id)
        self.verify(ctx, read_bundle(produced.path, kind="response").guns,  # type: ignore
                    ())

    def publish(self, ctx: Context, produced: Produced, step_id: str) -> None:
        server = self.start(ctx)
        path = produced.path
        assert path is not None
        if self.transfer == "qr":
            back = path.with_name(path.name + ".online")
            self.cross(ctx, path, back, step_id, "response")
            path = back
        bundle = read_bundle(path, kind="response")
        ctx.say(f"  online machine: ceremony online publish {path.name} --server {server.url}")
        published = publish_response(server.url, bundle, ca=server.ca)  # type: ignore[arg-type]
        for gun in published:
            status, body = server.get(f"/v2/{gun}/_trust/tuf/root.json")
            root = json.loads(body)["signed"]
            if gun not in self.pins:
                self.pins[gun] = list(root["roles"]["root"]["keyids"])
                self.cached[gun] = NotaryClient(server, self.folder / "clients" / gun_dirname(gun),
                                                pinned={gun: self.pins[gun]}, disable_tofu=True)
        ctx.say(f"  published {len(published)} repositor{'y' if len(published) == 1 else 'ies'}"
                " (the server accepted exactly the signed bytes)")
        self._record(ctx, "publish", step=step_id, guns=published,
                     bundle_sha256=bundle.digest_hex)

    def verify(self, ctx: Context, guns: list[str], targets: tuple[str, ...] | list[str]) -> None:
        """`notary list` by a client that pinned the first root's certificates (and keeps its
        cache across the rehearsal) and by a fresh client pinned to the current ones."""
        server = self.start(ctx)
        for gun in guns:
            if gun not in self.cached:
                raise StepFailed(f"{gun} was never published in this rehearsal")
            status, body = server.get(f"/v2/{gun}/_trust/tuf/root.json")
            root = json.loads(body)["signed"]
            self.fresh += 1
            fresh = NotaryClient(server, self.folder / "clients" / f"fresh-{self.fresh}",
                                 pinned={gun: list(root["roles"]["root"]["keyids"])},
                                 disable_tofu=True)
            for label, client in (("cached", self.cached[gun]), ("fresh", fresh)):
                proc = client.run("list", gun, check=False)
                if proc.returncode != 0:
                    raise StepFailed(f"{gun}: the {label} notary client refused the trust data: "
                                     + " ".join((proc.stderr or proc.stdout).split())[:300])
                listed = proc.stdout
                missing = [t for t in targets if t not in listed]
                if missing:
                    raise StepFailed(f"{gun}: the {label} notary client does not list "
                                     f"{', '.join(missing)}")
            what = (f"{gun}: real notary client (trust pinning to root certificate(s) "
                    f"{', '.join(k[:12] + '...' for k in self.pins[gun])}, TOFU off) verified "
                    f"root v{root['version']}, cached and fresh"
                    + (f"; lists {', '.join(targets)}" if targets else ""))
            ctx.say(f"  {what}")
            ctx.verified.append(what)
            self._record(ctx, "client-verify", gun=gun, root_version=root["version"],
                         pins=self.pins[gun], targets=list(targets))

    # --- the people around the ceremony ----------------------------------------------------
    def make_key(self, ctx: Context, name: str, public: Path, produced_as: str) -> Produced:
        """A delegate's EC P-256 key pair, made on "their" machine (the rehearsal folder): the
        public key is what comes to the ceremony; the private key stays with the delegate."""
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec
        key = ec.generate_private_key(ec.SECP256R1())
        private = self.folder / "delegates" / f"{produced_as}.key"
        private.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(private, key.private_bytes(serialization.Encoding.PEM,
                                                serialization.PrivateFormat.TraditionalOpenSSL,
                                                serialization.NoEncryption()), overwrite=True)
        os.chmod(private, 0o600)
        public.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(public, key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo),
            overwrite=True)
        self.delegate_keys[str(public)] = private
        ctx.say(f"  delegate {name}: key pair made on the delegate's machine; the public key "
                f"{public.name} goes to the ceremony (its private key never does)")
        return Produced(produced_as, "public-key", public, file_sha(public), auto=True)

    def delegate_publish(self, ctx: Context, step: Step) -> None:
        p = step.params
        gun, role = p["gun"], p.get("role", "targets/releases")
        server = self.start(ctx)
        key = ctx.ref(p["key"])
        private = self.delegate_keys.get(str(key.path))
        if private is None:
            raise StepFailed(f"step {step.id}: {p['key']} is not a key a delegate made in this "
                             "rehearsal")
        client = NotaryClient(server, self.folder / "clients" / f"delegate-{step.id}",
                              pinned={gun: self.pins.get(gun, [])}, disable_tofu=True)
        client.run("key", "import", str(private), "--role", role)
        artefact = self.folder / "artefacts" / p["target"]
        artefact.parent.mkdir(parents=True, exist_ok=True)
        artefact.write_bytes(f"{p['target']} built {dt.datetime.now(dt.UTC).isoformat()}\n"
                             .encode())
        ctx.say(f"  delegate: notary add {gun} {p['target']} {artefact.name} --roles {role} "
                "--publish")
        client.run("add", gun, p["target"], str(artefact), "--roles", role, "--publish")
        what = f"{gun}: the delegate published {p['target']} in {role} with the real client"
        ctx.say(f"  {what}")
        ctx.verified.append(what)
        self._record(ctx, "delegate-publish", gun=gun, role=role, target=p["target"],
                     sha256=file_sha(artefact))

    def client_repository(self, ctx: Context, step: Step) -> None:
        """A repository as a team has it before adoption: made by the real notary client with
        software keys (root and targets key files in its key store), on a workstation in
        `timezone`, the snapshot key handed to the server as `docker trust` does."""
        from softhsm.notary_server import PASSPHRASE
        gun, tz = step.params["gun"], step.params.get("timezone", "UTC")
        server = self.start(ctx)
        owner = NotaryClient(server, self.folder / "clients" / f"owner-{gun_dirname(gun)}")
        before = os.environ.get("TZ")
        os.environ["TZ"] = tz  # the client writes its times in this zone
        try:
            owner.run("init", gun, "--publish")
            owner.run("key", "rotate", gun, "snapshot", "-r")
        finally:
            if before is None:
                os.environ.pop("TZ", None)
            else:
                os.environ["TZ"] = before
        for path in sorted((owner.trust_dir / "private").rglob("*.key")):
            text = path.read_text()
            role = "root" if "role: root\n" in text else "targets" if "role: targets\n" in text \
                else None
            if role is not None:
                self.client_keys[(gun, role)] = path
        os.environ[REHEARSAL_PASSPHRASE_ENV] = PASSPHRASE
        status, body = server.get(f"/v2/{gun}/_trust/tuf/root.json")
        self.pins[gun] = list(json.loads(body)["signed"]["roles"]["root"]["keyids"])
        self.cached[gun] = NotaryClient(server, self.folder / "clients" / gun_dirname(gun),
                                        pinned={gun: self.pins[gun]}, disable_tofu=True)
        self.cached[gun].run("list", gun)  # a client that trusts it already (cached root)
        ctx.say(f"  rehearsal: {gun} made by the real notary client (TZ={tz}), root and targets "
                f"keys in software: {self.client_keys[(gun, 'root')]}")
        self._record(ctx, "client-repository", gun=gun, timezone=tz, pins=self.pins[gun])

    def key_file(self, gun: str, role: str) -> Path:
        if (gun, role) not in self.client_keys:
            raise StepFailed(f"{gun}: no {role} key file was made in this rehearsal (a setup "
                             "step `client-repository` makes one)")
        return self.client_keys[(gun, role)]

    def passphrase_source(self) -> str:
        return f"env:{REHEARSAL_PASSPHRASE_ENV}"

    # --- rehearsal-only actions ------------------------------------------------------------
    def action(self, ctx: Context, step: Step) -> Produced | None:
        p = step.params
        if step.do == "online-fetch":
            op = p.get("operation", "init")
            consumer = next((s for s in ctx.script.steps if s.params.get("request") == step.id),
                            None)
            offline_snapshot = consumer is not None and "snapshot-token" in consumer.params
            return self.request(ctx, list(p.get("guns") or ctx.script.guns), op,
                                ctx.out_path(step, p.get("out") or f"{step.id}.request"),
                                step.id, auto=False,
                                snapshot_key="never" if offline_snapshot else "auto")
        if step.do == "online-publish":
            self.publish(ctx, ctx.ref(p["bundle"]), step.id)
            return None
        if step.do == "client-verify":
            self.verify(ctx, list(p.get("guns") or ctx.script.guns), p.get("targets", []))
            return None
        if step.do == "delegate-key":
            produced = self.make_key(ctx, p["name"], ctx.out_path(
                step, p.get("out") or f"{p['name']}.pub"), step.id)
            produced.auto = False
            return produced
        if step.do == "delegate-publish":
            self.delegate_publish(ctx, step)
            return None
        if step.do == "client-repository":
            self.client_repository(ctx, step)
            return None
        raise StepFailed(f"step {step.id}: {step.do} is not a rehearsal action")

