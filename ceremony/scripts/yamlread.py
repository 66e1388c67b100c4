"""Reading a ceremony script's YAML: small, plain and unambiguous, or refused in one line.

`yaml.safe_load` semantics (no Python objects) with more refused:
- larger than MAX_SCRIPT_BYTES, or not UTF-8;
- anchors and aliases (`&a`, `*a`): a script is read by people, and aliases are how "billion
  laughs" documents grow; nothing in a script needs them;
- merge keys (`<<`), duplicate keys, non-text keys, nesting deeper than MAX_DEPTH;
- more than one document, or an empty one.
Every refusal is a ScriptError whose message names the line.
"""

from __future__ import annotations

from typing import Any

import yaml

from ceremony.errors import CeremonyError
from groundfloor.limits import MAX_SCRIPT_BYTES

MAX_DEPTH = 24
MAX_NUMBER_CHARS = 32  # versions, thresholds, counts: a 5000-digit number is no setting


class ScriptError(CeremonyError):
    """A ceremony script is unreadable or invalid; the message names the file and field."""


def _at(mark: Any) -> str:
    return f"line {mark.line + 1}" if mark is not None else "somewhere"


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses anchors, aliases, merge keys, duplicates and deep nesting."""

    def __init__(self, stream: str):
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise ScriptError(f"{_at(event.start_mark)}: YAML aliases (*{event.anchor}) are not "
                              "allowed in a ceremony script; write the value out")
        if getattr(event, "anchor", None) is not None:
            raise ScriptError(f"{_at(event.start_mark)}: YAML anchors (&{event.anchor}) are not "
                              "allowed in a ceremony script")
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise ScriptError(f"{_at(event.start_mark)}: nested more than {MAX_DEPTH} "
                                  "levels deep")
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ScriptError(f"{_at(key_node.start_mark)}: merge keys (<<) are not allowed "
                                  "in a ceremony script")
            if not isinstance(key_node, yaml.ScalarNode) or \
                    key_node.tag != "tag:yaml.org,2002:str":
                raise ScriptError(f"{_at(key_node.start_mark)}: a key must be plain text")
            if key_node.value in seen:
                raise ScriptError(f"{_at(key_node.start_mark)}: duplicate key "
                                  f"{key_node.value!r}")
            seen.add(key_node.value)
        return super().construct_mapping(node, deep=True)

    def construct_yaml_int(self, node: Any) -> int:
        # Checked before int() runs: past 4300 digits Python raises ValueError, and well below
        # that the conversion alone is quadratic.
        if len(node.value) > MAX_NUMBER_CHARS:
            raise ScriptError(f"{_at(node.start_mark)}: a number {len(node.value)} characters "
                              f"long; numbers in a script have at most {MAX_NUMBER_CHARS}")
        return super().construct_yaml_int(node)


_StrictLoader.add_constructor("tag:yaml.org,2002:int", _StrictLoader.construct_yaml_int)


def load_yaml(data: bytes, name: str) -> Any:
    """Parse the bytes of a ceremony script; ScriptError (one line) on anything refused."""
    if len(data) > MAX_SCRIPT_BYTES:
        raise ScriptError(f"script {name}: {len(data)} bytes, larger than the limit of "
                          f"{MAX_SCRIPT_BYTES}")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ScriptError(f"script {name}: not UTF-8 text (byte {exc.start})") from None
    if "\x00" in text:
        raise ScriptError(f"script {name}: contains a NUL character")
    loader = _StrictLoader(text)
    try:
        document = loader.get_single_node()
        if document is None:
            raise ScriptError(f"script {name}: empty document")
        return loader.construct_document(document)
    except ScriptError as exc:
        msg = str(exc)
        raise ScriptError(msg if msg.startswith("script ") else f"script {name}: {msg}") \
            from None
    except yaml.MarkedYAMLError as exc:
        where = _at(exc.problem_mark or exc.context_mark)
        what = " ".join(str(exc.problem or exc.context or "invalid YAML").split())
        raise ScriptError(f"script {name}: {where}: invalid YAML: {what}") from None
    except yaml.YAMLError as exc:
        raise ScriptError(f"script {name}: invalid YAML: {' '.join(str(exc).split())}") \
            from None
    except RecursionError:
        raise ScriptError(f"script {name}: nested too deeply") from None
    except ValueError as exc:  # a scalar YAML resolves to a value Python cannot build
        raise ScriptError(f"script {name}: invalid value: {' '.join(str(exc).split())}") \
            from None
    finally:
        loader.dispose()
