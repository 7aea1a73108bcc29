"""Walk a message's JSON together with its msgspec type, so tests can check every field by its type."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import msgspec.inspect as mi

# One step of a path into the JSON: the JSON key or list index, and the Python attribute it maps to
# (``None`` for list items and dict entries).
PathItem = tuple[str | int, str | None]
Path = tuple[PathItem, ...]


@dataclass(frozen=True)
class Node:
    path: Path
    info: mi.Type
    value: Any


def normalize(data: bytes | str) -> str:
    """JSON text with sorted keys and a fixed layout: what the golden files hold."""
    return json.dumps(json.loads(data), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


def _non_none(info: mi.Type, value: Any) -> mi.Type:
    if isinstance(info, mi.UnionType):
        if value is None:
            return mi.NoneType()
        options = [t for t in info.types if not isinstance(t, mi.NoneType)]
        if len(options) == 1:
            return _non_none(options[0], value)
        return info
    return info


def walk(info: mi.Type, value: Any, path: Path = ()) -> Iterator[Node]:
    """Every node of ``value`` (decoded JSON) with the msgspec type it is declared as."""
    info = _non_none(info, value)
    yield Node(path, info, value)
    if isinstance(info, mi.StructType):
        assert isinstance(value, dict), path
        for field in info.fields:
            if field.encode_name in value:
                yield from walk(field.type, value[field.encode_name], (*path, (field.encode_name, field.name)))
    elif isinstance(info, (mi.ListType, mi.TupleType, mi.VarTupleType)):
        item_type = info.item_type if not isinstance(info, mi.TupleType) else None
        for index, item in enumerate(value):
            typ = item_type if item_type is not None else info.item_types[index]  # type: ignore[union-attr]
            yield from walk(typ, item, (*path, (index, None)))
    elif isinstance(info, mi.DictType):
        for key, item in value.items():
            yield from walk(info.value_type, item, (*path, (key, None)))


def type_of(value: object) -> mi.Type:
    return mi.type_info(type(value))


def follow(obj: Any, path: Path) -> Any:
    """The Python value at ``path`` of a decoded struct."""
    for key, attr in path:
        obj = getattr(obj, attr) if attr is not None else obj[key]
    return obj


def json_at(data: Any, path: Path) -> Any:
    for key, _ in path:
        data = data[key]
    return data


def field_default(field: mi.Field) -> Any:
    if field.default is not mi.NODEFAULT:
        return field.default
    assert field.default_factory is not mi.NODEFAULT
    return field.default_factory()


def struct_fields(value: msgspec.Struct) -> Iterator[tuple[str, Any]]:
    for name in value.__struct_fields__:
        yield name, getattr(value, name)
