"""Load the deploy YAML files: PyYAML when installed, else a small loader for the subset they use.

PyYAML is not a dependency of the project, so the subset loader reads what docker-compose.yml and
deploy/k8s/*.yaml are written in: block mappings and sequences, ``- key: value`` items, plain or
quoted scalars (kept as strings), one-line flow lists ``[a, "b"]`` and ``{}``, comments and ``---``.
Anything else (anchors, block scalars, multi-line flow) raises, so a file that leaves the subset
fails loudly instead of being misread.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

try:  # pragma: no cover - depends on the environment
    import yaml as _pyyaml
except ImportError:  # pragma: no cover
    _pyyaml = None


def load_all(path: Path) -> list[Any]:
    text = path.read_text()
    if _pyyaml is not None:  # pragma: no cover
        return [doc for doc in _pyyaml.safe_load_all(text) if doc is not None]
    docs: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if line.strip() == "---":
            docs.append(current)
            current = []
        else:
            current.append(line)
    docs.append(current)
    return [doc for doc in (_Parser(lines).parse() for lines in docs) if doc is not None]


def _strip_comment(line: str) -> str:
    quote = None
    for i, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i].rstrip()
    return line.rstrip()


def _split_flow(body: str) -> list[str]:
    items, quote, start = [], None, 0
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == ",":
            items.append(body[start:i])
            start = i + 1
    items.append(body[start:])
    return [item.strip() for item in items if item.strip()]


def _scalar(text: str) -> Any:
    text = text.strip()
    if text in ("{}",):
        return {}
    if text.startswith("[") and text.endswith("]"):
        return [_scalar(item) for item in _split_flow(text[1:-1])]
    if text.startswith('"') and text.endswith('"') and len(text) >= 2:
        return json.loads(text)
    if text.startswith("'") and text.endswith("'") and len(text) >= 2:
        return text[1:-1].replace("''", "'")
    if text[:1] in ("&", "*", "|", ">", "{", "[", "!"):
        raise ValueError(f"YAML outside the supported subset: {text!r}")
    return text


def _key_value(text: str) -> tuple[str, str] | None:
    """``key: value`` (value may be empty) or None when ``text`` is a plain scalar."""
    quote = None
    for i, ch in enumerate(text):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == ":" and (i + 1 == len(text) or text[i + 1] == " "):
            return str(_scalar(text[:i])), text[i + 1 :].strip()
    return None


class _Parser:
    def __init__(self, lines: list[str]) -> None:
        self.lines: list[tuple[int, str]] = []
        for raw in lines:
            line = _strip_comment(raw)
            if line.strip():
                if "\t" in line[: len(line) - len(line.lstrip())]:
                    raise ValueError(f"tab indentation: {raw!r}")
                self.lines.append((len(line) - len(line.lstrip(" ")), line.strip()))
        self.i = 0

    def parse(self) -> Any:
        if not self.lines:
            return None
        value = self._block(self.lines[0][0])
        if self.i != len(self.lines):
            raise ValueError(f"unexpected indentation at {self.lines[self.i][1]!r}")
        return value

    def _block(self, indent: int) -> Any:
        if self.lines[self.i][1].startswith("- ") or self.lines[self.i][1] == "-":
            return self._sequence(indent)
        return self._mapping(indent)

    def _value_after(self, rest: str, indent: int) -> Any:
        if rest:
            return _scalar(rest)
        if self.i < len(self.lines) and self.lines[self.i][0] > indent:
            return self._block(self.lines[self.i][0])
        if self.i < len(self.lines) and self.lines[self.i][0] == indent and self.lines[self.i][1].startswith("- "):
            return self._sequence(indent)  # a sequence may sit at its key's indentation
        return None

    def _mapping(self, indent: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        while self.i < len(self.lines):
            col, text = self.lines[self.i]
            if col < indent or (col == indent and text.startswith("- ")):
                break
            if col > indent:
                raise ValueError(f"unexpected indentation at {text!r}")
            pair = _key_value(text)
            if pair is None:
                raise ValueError(f"expected key: value, got {text!r}")
            self.i += 1
            key, rest = pair
            if key in result:
                raise ValueError(f"duplicate key {key!r}")
            result[key] = self._value_after(rest, indent)
        return result

    def _sequence(self, indent: int) -> list[Any]:
        result: list[Any] = []
        while self.i < len(self.lines):
            col, text = self.lines[self.i]
            if col != indent or not (text.startswith("- ") or text == "-"):
                break
            body = text[2:].strip()
            pair = _key_value(body) if body else None
            if pair is None:
                self.i += 1
                result.append(_scalar(body) if body else self._value_after("", indent))
                continue
            # "- key: value" starts a mapping whose other keys sit at indent + 2
            self.lines[self.i] = (indent + 2, body)
            result.append(self._mapping(indent + 2))
        return result
