"""Bundles as QR codes and scanner text lines: the NCQR1 frame format and everything around it.

    frames.py   the frame text format (the only place that reads or writes it)
    fountain.py fountain subsets and the GF(2) decoder
    encoder.py  bundle -> series of frames        receiver.py frames -> checked bundle
    render.py   frame -> QR symbol -> PNG/SVG/terminal      sheet.py printable pages
    outputs.py  frame folders and sheets on disk            display.py terminal/window animation
    capture.py  images, video, camera, text lines -> frame texts

docs/transfer.md specifies the format and documents the commands.
"""

from transfer.qr.encoder import Series, encode_frames, plan_series
from transfer.qr.receiver import Received, Receiver

__all__ = ["Received", "Receiver", "Series", "encode_frames", "plan_series"]
