"""The script actions of TUF 1.0 ceremonies: their descriptions (executors in
tuf_steps.py). Merged into `actions_spec.ACTIONS`; a name must not repeat another system's.
"""

from __future__ import annotations

from ceremony.scripts.action import ActionSpec

ACTIONS: dict[str, ActionSpec] = {}
