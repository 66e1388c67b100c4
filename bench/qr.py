"""QR transfer benchmark: prints one JSON object per payload size and density.

    python bench/qr.py [--seeds 20] [--fps 5]

frames: data frames for the bundle; render_ms / decode_ms: per frame (python-qrcode with mask
selection, zxing-cpp on the clean 4 px/module image); seconds_at_<fps>fps: simulated transfer
time of the endless animated stream (data frames, then fountain frames) when the camera misses
each shown frame with probability 0, 10 or 30 %, mean (and worst) over seeds; loop_seconds_30: the
same at 30 % for a plain repeating loop without fountain frames, for comparison.
Bundles are targets-like JSON with random hashes (see tests/transfer/helpers.py).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.transfer.helpers import targets_bundle  # noqa: E402
from transfer.qr.capture import decode_image  # noqa: E402
from transfer.qr.encoder import Series, plan_series  # noqa: E402
from transfer.qr.receiver import Receiver  # noqa: E402
from transfer.qr.render import DENSITIES, matrix_image, qr_matrix, symbol_for  # noqa: E402

SIZES_KB = (1, 5, 30, 100)
LOSSES = (0.0, 0.1, 0.3)


def simulate(series: Series, frames: dict[int, str], loss: float, seed: int,
             fountain: bool = True) -> int:
    """Frames shown until the receiver completes."""
    rnd = random.Random(seed)
    receiver = Receiver()
    shown = 0
    while not receiver.complete:
        shown += 1
        index = shown if fountain else (shown - 1) % series.count + 1
        if index not in frames:
            frames[index] = series.frame(index)
        if rnd.random() >= loss:
            receiver.add(frames[index])
        if shown > 100 * series.count + 1000:
            raise RuntimeError("did not complete")
    assert receiver.result().digest == series.digest
    return shown


def bench(size_kb: int, density: str, seeds: int, fps: float) -> dict[str, object]:
    data = targets_bundle(size_kb * 1024, seed=size_kb)
    series = plan_series(data, DENSITIES[density])
    symbol = symbol_for(series.key, "M")
    sample = list(range(1, min(series.count, 12) + 1))
    t0 = time.perf_counter()
    images = [matrix_image(qr_matrix(series.frame(i), symbol), 4) for i in sample]
    render_ms = (time.perf_counter() - t0) * 1000 / len(sample)
    t0 = time.perf_counter()
    for img in images:
        assert len(decode_image(img)) == 1
    decode_ms = (time.perf_counter() - t0) * 1000 / len(sample)
    frames: dict[int, str] = {}
    seconds = {}
    worst = {}
    for loss in LOSSES:
        shown = [simulate(series, frames, loss, seed) for seed in range(seeds)]
        seconds[f"{int(loss * 100)}%"] = round(statistics.mean(shown) / fps, 1)
        worst[f"{int(loss * 100)}%"] = round(max(shown) / fps, 1)
    loop = [simulate(series, frames, 0.3, seed, fountain=False) for seed in range(seeds)]
    return {
        "size_kb": size_kb, "bundle_bytes": len(data), "compressed_bytes": series.key.msglen,
        "density": density, "frame_bytes": series.key.chunk_size, "qr_version": symbol.version,
        "frames": series.count, "render_ms": round(render_ms, 1),
        "decode_ms": round(decode_ms, 1), f"seconds_at_{fps:g}fps": seconds,
        "worst_seconds": worst, "loop_seconds_30%": round(statistics.mean(loop) / fps, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--fps", type=float, default=5.0)
    args = parser.parse_args()
    for size_kb in SIZES_KB:
        for density in DENSITIES:
            print(json.dumps(bench(size_kb, density, args.seeds, args.fps)), flush=True)


if __name__ == "__main__":
    main()
