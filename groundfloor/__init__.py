"""The ground floor: what every layer of the tool uses and nothing of the tool itself.

Atomic and bounded file access (files), fault points (faults), the PGP word list (words), GUN
and role names (names), canonical JSON (canonical), the strict JSON reader (strictjson), the
JSON parse-cost bound (jsonlimits), every size limit (limits) and the tool's version (version).
Nothing here imports hsm, transfer or ceremony.
"""
