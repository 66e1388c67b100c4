"""The script actions of Notary v2 (notation) ceremonies: their descriptions (executors in
notation_steps.py). Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.
"""

from __future__ import annotations

from ceremony.scripts.action import ActionSpec

ACTIONS: dict[str, ActionSpec] = {}
