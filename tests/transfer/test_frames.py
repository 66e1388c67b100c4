"""The NCQR1 text format and the fountain code, including property tests."""

from __future__ import annotations

import random
import zlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from transfer.qr.encoder import encode_frames, plan_series
from transfer.qr.errors import FrameError
from transfer.qr.fountain import GF2Solver, fountain_mask
from transfer.qr.frames import ALPHANUMERIC, crc_text, parse_frame
from transfer.qr.receiver import Receiver
from transfer.qr.render import DENSITIES, symbol_for


def test_frame_layout_and_charset():
    data = random.Random(2).randbytes(1500)
    frames = encode_frames(data, frame_bytes=200)
    series = plan_series(data, 200)
    assert len(frames) == series.count + max(2, -(-series.count // 10))
    head = frames[0].split(":")
    assert head[0] == "NCQR1" and head[1] == series.msg_id and head[2] == f"1/{series.count}"
    assert int(head[3]) == series.key.msglen and int(head[4]) == len(data)
    assert head[-1] == crc_text(frames[0].rpartition(":")[0])
    for f in frames:
        assert set(f) <= ALPHANUMERIC and f == f.upper() and " " not in f
    # equal chunk sizes: every payload has the same length, so one QR version fits all
    assert len({len(f.split(":")[5]) for f in frames}) == 1


def test_message_id_is_the_digest_prefix():
    import base64
    import hashlib

    data = b"x" * 1000
    s = plan_series(data)
    assert s.digest == hashlib.sha256(data).digest()
    assert len(s.msg_id) == 8 and base64.b32decode(s.msg_id) == s.digest[:5]


@pytest.mark.parametrize("mangle", [
    lambda f: f.lower(),
    lambda f: f + "\r\n",
    lambda f: "  " + f + "   \n",
    lambda f: f + "\r",
])
def test_scanner_mangling_is_undone(mangle):
    frame = encode_frames(b"hello world" * 20)[0]
    assert parse_frame(mangle(frame)) == parse_frame(frame)


def test_every_single_character_change_is_rejected():
    frame = encode_frames(b"some bundle bytes" * 10)[0]
    rnd = random.Random(3)
    alphabet = sorted(ALPHANUMERIC - {" "})
    for pos in range(len(frame)):
        c = rnd.choice([a for a in alphabet if a != frame[pos]])
        broken = frame[:pos] + c + frame[pos + 1:]
        with pytest.raises(FrameError):
            parse_frame(broken)


@pytest.mark.parametrize("text,reason", [
    ("HELLO WORLD", "not a ceremony"),
    ("NCQR2:AAAAAAAA:1/1:40:0:AAAA:00000000", "NCQR2 is not supported"),
    ("NCQR1:AAAAAAAA:1/1:40:0:AAAA:00000000", "checksum"),
])
def test_bad_frames_say_why(text, reason):
    with pytest.raises(FrameError, match=reason):
        parse_frame(text)


def _signed(body: str) -> str:
    return f"{body}:{crc_text(body)}"


@pytest.mark.parametrize("body,reason", [
    ("NCQR1:AAAAAAAA:0/1:5:0:AAAAAAAA", "out of range"),
    ("NCQR1:AAAAAAAA:1/10000:5:0:AAAAAAAA", "out of range"),
    ("NCQR1:AAAAAAAA:1/1:5:99999999:AAAAAAAA", "over the 16 MiB limit"),
    ("NCQR1:AAAAAAAA:1/2:5:0:AAAAAAAA", "message length"),
    ("NCQR1:AAAAAAAA:01/1:5:0:AAAAAAAA", "bad field"),
    ("NCQR1:AAAAAAA1:1/1:5:0:AAAAAAAA", "bad field"),
    ("NCQR1:AAAAAAAA:1/1:5:0:AAAAAA", "payload encoding"),
    ("NCQR1:AAAAAAAA:1/1:5:0:AAAAAAB", "non-canonical"),
])
def test_checksummed_but_invalid_frames_are_rejected(body, reason):
    with pytest.raises(FrameError, match=reason):
        parse_frame(_signed(body))


def test_fountain_masks_are_deterministic_and_dense():
    masks = [fountain_mask("ABCDEFGH", 100, i) for i in range(101, 201)]
    assert masks == [fountain_mask("ABCDEFGH", 100, i) for i in range(101, 201)]
    assert all(0 < m < 1 << 100 for m in masks)
    mean = sum(bin(m).count("1") for m in masks) / len(masks)
    assert 40 < mean < 60
    assert fountain_mask("ABCDEFGH", 100, 7) == 1 << 6
    assert fountain_mask("ABCDEFGH", 1, 5) == 1


def test_gf2_solver_recovers_from_any_independent_set():
    rnd = random.Random(7)
    n = 40
    chunks = [rnd.getrandbits(64) for _ in range(n)]
    solver = GF2Solver(n)
    while not solver.complete:
        mask = rnd.getrandbits(n) or 1
        value = 0
        for k in range(n):
            if mask >> k & 1:
                value ^= chunks[k]
        solver.add(mask, value)
    assert [solver.value(k) for k in range(n)] == chunks


def test_densities_map_to_expected_qr_versions():
    data = random.Random(1).randbytes(60_000)
    versions = {name: symbol_for(plan_series(data, nbytes).key, "M").version
                for name, nbytes in DENSITIES.items()}
    assert versions == {"low": 13, "default": 23, "high": 34}


def _stream_until_complete(data: bytes, frame_bytes: int, loss: float, seed: int,
                           bound: int) -> tuple[Receiver, int]:
    series = plan_series(data, frame_bytes)
    rnd = random.Random(seed)
    receiver = Receiver()
    shown = 0
    for text in series.stream():
        shown += 1
        if rnd.random() >= loss:
            receiver.add(text)
        if receiver.complete or shown >= bound:
            break
    return receiver, shown


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(min_size=0, max_size=4000), frame_bytes=st.integers(16, 400),
       loss=st.floats(0.0, 0.6), seed=st.integers(0, 2**32))
def test_any_loss_pattern_completes_with_fountain_frames(data, frame_bytes, loss, seed):
    count = plan_series(data, frame_bytes).count
    # Generous bound: with 60 % loss about 2.5 * count frames are needed; the dense fountain
    # code needs only a few frames over count, so 4 * count + 60 fails with negligible odds.
    receiver, shown = _stream_until_complete(data, frame_bytes, loss, seed, 4 * count + 60)
    assert receiver.complete, receiver.progress()
    assert receiver.result().data == data


@settings(max_examples=40, deadline=None)
@given(data=st.binary(min_size=1, max_size=3000), frame_bytes=st.integers(16, 300),
       order_seed=st.integers(0, 2**32))
def test_frames_in_any_order_with_duplicates(data, frame_bytes, order_seed):
    frames = plan_series(data, frame_bytes).frames(0)
    rnd = random.Random(order_seed)
    mixed = frames + rnd.sample(frames, k=min(len(frames), 5))
    rnd.shuffle(mixed)
    receiver = Receiver()
    for text in mixed:
        receiver.add(text)
    assert receiver.result().data == data


@settings(max_examples=40, deadline=None)
@given(a=st.binary(min_size=1, max_size=2000), b=st.binary(min_size=1, max_size=2000),
       frame_bytes=st.integers(16, 200), seed=st.integers(0, 2**32))
def test_mixed_messages_never_produce_a_wrong_output(a, b, frame_bytes, seed):
    rnd = random.Random(seed)
    sa, sb = plan_series(a, frame_bytes), plan_series(b, frame_bytes)
    pool = sa.frames(sa.count) + sb.frames(sb.count)
    rnd.shuffle(pool)
    receiver = Receiver()
    for text in pool:
        if rnd.random() < 0.3:
            continue
        receiver.add(text)
        if receiver.complete:
            break
    if receiver.complete:
        assert receiver.result().data in (a, b)


def test_compression_is_zlib_level_9():
    data = b'{"targets":{}}' * 300
    series = plan_series(data)
    assert series.key.msglen == 32 + len(zlib.compress(data, 9))
