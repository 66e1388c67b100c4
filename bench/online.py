"""`online fetch` / `online publish` of many repositories against the real notary-server.

    python bench/online.py [--repos 1000] [--jobs 4]

In a throwaway folder (deleted afterwards): a notary-server (TLS, memory storage) and SoftHSM
tokens. Steps, each timed:
1. fetch N new repositories (root.json 404, timestamp.key, snapshot.key each), --jobs at once;
2. the real `init` ceremony for all N offline (not part of the online numbers);
3. publish the response (one POST per repository), --jobs at once, with its record file;
4. fetch the N existing repositories for a rotation (root.json, timestamp.json, snapshot and
   targets by hash, 1.root.json, timestamp.key), with --jobs and with 1 job;
5. the floor: plain keep-alive HTTP GETs of exactly the URLs step 4 fetched (same number of
   connections, no parsing, no checks).
Prints JSON with repositories per second for each step and step 4 against the floor.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import resource
import ssl
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _floor(server, paths: list[str], jobs: int) -> float:  # noqa: ANN001
    """Seconds to GET every path with `jobs` kept-alive connections and nothing else."""
    host, port = server.url.removeprefix("https://").split(":")
    context = ssl.create_default_context(cafile=str(server.ca))
    local = threading.local()

    def get(path: str) -> None:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = local.conn = http.client.HTTPSConnection(host, int(port), context=context)
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, (path, resp.status)

    started = time.perf_counter()
    with ThreadPoolExecutor(jobs) as pool:
        list(pool.map(get, paths))
    return time.perf_counter() - started


def _fetched_paths(server, since: int) -> list[str]:  # noqa: ANN001
    """The GET URLs the server answered after log line `since` (its own access log)."""
    paths = []
    for line in (server.folder / "server.log").read_text().splitlines()[since:]:
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("msg") == "response completed" and \
                entry.get("http.request.method") == "GET":
            paths.append(entry["http.request.uri"])
    return paths


def _log_lines(server) -> int:  # noqa: ANN001
    return len((server.folder / "server.log").read_text().splitlines())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args(argv)
    n, jobs = args.repos, args.jobs
    report: dict = {"repos": n, "jobs": jobs}

    with tempfile.TemporaryDirectory(prefix="bench-online-") as tmp_name:
        tmp = Path(tmp_name)
        from softhsm.env import TokenSpec, create_env
        env = create_env(tmp / "softhsm", [TokenSpec("root-a"), TokenSpec("targets")])
        os.environ.update(env.env)

        from ceremony.notary.ceremonies.init import InitCeremony
        from ceremony.notary.ceremonies.runner import Console, Options, perform
        from ceremony.notary.online import fetch_request, publish_response
        from softhsm.notary_server import NotaryServer
        from transfer.bundle import read_bundle, write_bundle

        guns = [f"registry.example.com/team-{i // 50:02d}/app-{i:05d}" for i in range(n)]
        with NotaryServer(tmp / "server") as server:
            def rate(step: str, seconds: float) -> None:
                report[step] = {"wall_s": round(seconds, 3),
                                "repos_per_s": round(n / seconds, 1)}
                print(f"{step}: {n / seconds:.1f} repositories/s", file=sys.stderr)

            started = time.perf_counter()
            request = fetch_request(server.url, guns, ca=server.ca, jobs=jobs)
            rate("fetch_new", time.perf_counter() - started)
            write_bundle(tmp / "init.req", request)

            pins = [f"{label}={env.pin_source(label)}" for label in ("root-a", "targets")]
            started = time.perf_counter()
            perform(InitCeremony(root_tokens=["root-a"], targets_token="targets"),
                    Options(request=str(tmp / "init.req"), out=str(tmp / "init.resp"),
                            workspace=str(tmp / "ws"), yes=True, allow_network=True,
                            pin_sources=pins, participants=["bench"]),
                    Console(show=lambda _t: None, warn=lambda _m: None, ask=lambda _p: None))
            report["offline_init_s"] = round(time.perf_counter() - started, 3)

            response = read_bundle(tmp / "init.resp", kind="response")
            started = time.perf_counter()
            published = publish_response(server.url, response, ca=server.ca, jobs=jobs,
                                         record=tmp / "init.resp.published")
            rate("publish", time.perf_counter() - started)
            assert len(published) == n

            since = _log_lines(server)
            started = time.perf_counter()
            fetch_request(server.url, guns, ca=server.ca, operation="rotate-targets",
                          snapshot_key="never", jobs=jobs)
            rate("fetch_existing", time.perf_counter() - started)
            time.sleep(1)  # the server's log catches up
            paths = _fetched_paths(server, since)
            started = time.perf_counter()
            fetch_request(server.url, guns, ca=server.ca, operation="rotate-targets",
                          snapshot_key="never", jobs=1)
            rate("fetch_existing_1_job", time.perf_counter() - started)

            floor_s = _floor(server, paths, jobs)
            rate("floor_plain_gets", floor_s)
            report["floor_plain_gets"]["gets"] = len(paths)
            report["fetch_existing_vs_floor"] = round(
                report["fetch_existing"]["wall_s"] / floor_s, 2)
    report["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    report["note"] = ("floor: the same GET URLs as fetch_existing, with the same number of "
                      "kept-alive connections, no parsing or checks; one run on a shared "
                      "2-core machine, the server on the same machine")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
