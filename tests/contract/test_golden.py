"""Golden JSON per message version: the wire format of every contract is pinned.

``tests/contract/golden/<schema>.json`` holds the encoding of the example in :mod:`tests.contract.examples`
(keys sorted, two-space indent) for every struct tagged in :data:`contracts.messages.Message`, plus
``run-record.v1.json`` (:class:`contracts.RunRecord`), ``report.v1.json`` (:class:`contracts.Report`) and
``batch-record.v1.json`` (:class:`contracts.BatchRecord`).

A golden file changes only with a deliberate contract change. After an *additive* change (a new field with
a default, see :mod:`contracts.envelope`), set the new field in the example and regenerate::

    UPDATE_GOLDEN=1 .venv/bin/pytest tests/contract/test_golden.py

then review the diff of ``tests/contract/golden/``: an existing key must never disappear or change type.
Any other change is a new major version: a new struct, a new example and a new golden file.
"""

from __future__ import annotations

import copy
import inspect
import json
import os
import typing
from decimal import Decimal
from pathlib import Path

import msgspec
import msgspec.inspect as mi
import pytest

from contracts import BatchRecord, Report, RunRecord, decode, decode_as, encode
from contracts.messages import Message
from tests.contract.examples import EXAMPLES, MESSAGES
from tests.contract.wire import Path as JsonPath
from tests.contract.wire import field_default, follow, json_at, normalize, type_of, walk

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
NAMES = sorted(EXAMPLES)


def _golden_path(name: str) -> Path:
    return GOLDEN / f"{name}.json"


def _decode(data: bytes, example: object) -> object:
    untagged = isinstance(example, msgspec.Struct) and type(example).__struct_config__.tag is None
    if isinstance(example, (RunRecord, Report, BatchRecord)) or untagged:
        return decode_as(data, type(example))
    return decode(data)


def _raw_as_json(value: object) -> object:
    """``value`` with each ``msgspec.Raw`` field (a bundle's entries) as JSON: ``Raw`` compares by identity."""
    if not isinstance(value, msgspec.Struct):
        return value
    changes = {}
    for field in value.__struct_fields__:
        item = getattr(value, field)
        if isinstance(item, list) and item and isinstance(item[0], msgspec.Raw):
            changes[field] = [json.loads(bytes(raw)) for raw in item]
    return msgspec.structs.replace(value, **changes) if changes else value


@pytest.fixture(scope="module", autouse=True)
def _update_goldens() -> None:
    if not UPDATE:
        return
    GOLDEN.mkdir(exist_ok=True)
    for stale in GOLDEN.glob("*.json"):
        if stale.stem not in EXAMPLES:
            stale.unlink()
    for name, example in EXAMPLES.items():
        _golden_path(name).write_text(normalize(encode(example)), encoding="utf-8")


def test_every_message_version_has_one_example() -> None:
    tagged = {cls.__struct_config__.tag for cls in typing.get_args(Message)}
    examples = {type(m).__struct_config__.tag for m in MESSAGES}
    assert len(MESSAGES) == len(examples), "two examples of one message version"
    assert examples == tagged
    assert all(isinstance(tag, str) and tag.rsplit(".", 1)[-1].startswith("v") for tag in tagged)


def test_golden_files_match_the_examples_one_to_one() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == NAMES


def test_examples_are_fully_populated() -> None:
    """No field of any struct is left ``None``, empty or at its default: the goldens show every field."""
    unset = []
    for name, example in EXAMPLES.items():
        data = json.loads(encode(example))
        for node in walk(type_of(example), data):
            if not isinstance(node.info, mi.StructType):
                continue
            for field in node.info.fields:
                where = f"{name}:{'.'.join(str(k) for k, _ in node.path)}.{field.name}"
                value = node.value.get(field.encode_name)
                if value is None or value in ([], {}):
                    unset.append(where)
                elif not field.required and value == json.loads(encode(field_default(field))):
                    unset.append(f"{where} (default)")
    assert unset == []


@pytest.mark.parametrize("name", NAMES)
def test_encoding_equals_the_golden_file(name: str) -> None:
    golden = _golden_path(name).read_text(encoding="utf-8")
    assert normalize(encode(EXAMPLES[name])) == golden


@pytest.mark.parametrize("name", NAMES)
def test_decoding_the_golden_file_gives_the_example(name: str) -> None:
    example = EXAMPLES[name]
    decoded = _decode(_golden_path(name).read_bytes(), example)
    assert type(decoded) is type(example)
    assert _raw_as_json(decoded) == _raw_as_json(example)
    # Decimals keep their written precision across the round trip ("12531.00" stays "12531.00").
    assert normalize(encode(decoded)) == _golden_path(name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NAMES)
def test_old_decoder_ignores_unknown_fields_at_every_level(name: str) -> None:
    example = EXAMPLES[name]
    data = json.loads(_golden_path(name).read_bytes())
    structs = [n for n in walk(type_of(example), data) if isinstance(n.info, mi.StructType)]
    assert structs
    extended = copy.deepcopy(data)
    for node in structs:
        json_at(extended, node.path)["added_in_a_later_minor"] = {"nested": [1, "two", None]}
    decoded = _decode(json.dumps(extended).encode(), example)
    assert _raw_as_json(decoded) == _raw_as_json(example)


def _optional_fields(name: str) -> list[tuple[JsonPath, mi.Field]]:
    example = EXAMPLES[name]
    data = json.loads(encode(example))
    out: list[tuple[JsonPath, mi.Field]] = []
    for node in walk(type_of(example), data):
        if isinstance(node.info, mi.StructType):
            for field in node.info.fields:
                if not field.required:
                    out.append((node.path, field))
    return out


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_optional_field_decodes_to_its_default(name: str) -> None:
    example = EXAMPLES[name]
    data = json.loads(_golden_path(name).read_bytes())
    checked = 0
    optional = _optional_fields(name)
    if not optional:  # a reply of required fields only (portfolio.book-object.v1): nothing to trim
        assert name in {"portfolio.book-object.v1", "step.result-bundle.v1"}
        return
    for path, field in optional:
        trimmed = copy.deepcopy(data)
        del json_at(trimmed, path)[field.encode_name]
        decoded = _decode(json.dumps(trimmed).encode(), example)
        got = follow(decoded, (*path, (0, field.name)))
        assert got == field_default(field), f"{name}: {path} {field.name}"
        checked += 1
    assert checked > 0


@pytest.mark.parametrize("name", NAMES)
def test_a_missing_required_field_is_a_contract_error(name: str) -> None:
    from contracts import ContractError

    example = EXAMPLES[name]
    data = json.loads(_golden_path(name).read_bytes())
    required = [f for f in type_of(example).fields if f.required]  # type: ignore[attr-defined]
    assert required
    for field in required:
        trimmed = dict(data)
        del trimmed[field.encode_name]
        with pytest.raises(ContractError, match=field.encode_name):
            _decode(json.dumps(trimmed).encode(), example)


@pytest.mark.parametrize("name", NAMES)
def test_money_and_shares_are_json_strings_never_numbers(name: str) -> None:
    example = EXAMPLES[name]
    data = json.loads(_golden_path(name).read_bytes())
    decimals = 0
    for node in walk(type_of(example), data):
        where = f"{name}:{'.'.join(str(k) for k, _ in node.path)}"
        if isinstance(node.info, mi.DecimalType):
            assert isinstance(node.value, str), where
            assert follow(example, node.path) == Decimal(node.value), where
            decimals += 1
        elif isinstance(node.value, float):
            assert isinstance(node.info, mi.FloatType), f"{where}: a binary float in a non-float field"
        elif isinstance(node.value, int) and not isinstance(node.value, bool):
            assert isinstance(node.info, mi.IntType), f"{where}: a number in a non-integer field"
    has_decimal_field = any(
        isinstance(n.info, mi.DecimalType) for n in walk(type_of(example), json.loads(encode(example)))
    )
    assert decimals > 0 or not has_decimal_field


def test_decimals_keep_exact_digits_on_the_wire() -> None:
    text = _golden_path("report.v1").read_text(encoding="utf-8")
    assert '"portfolioValue": "64321.09"' in text
    assert '"timestamp": "2026-01-05T14:30:00Z"' in text


def test_instants_are_utc_iso8601() -> None:
    text = _golden_path("run-record.v1").read_text(encoding="utf-8")
    assert '"createdAt": "2026-01-05T14:30:00Z"' in text
    assert '"updatedAt": "2026-01-05T14:30:02.500000Z"' in text


def test_tag_field_is_schema_on_every_message() -> None:
    for message in MESSAGES:
        data = json.loads(encode(message))
        assert data["schema"] == type(message).__struct_config__.tag
        for key in ("run_id", "message_id", "occurred_at"):
            assert key in data, (data["schema"], key)


def test_unknown_schema_is_a_contract_error() -> None:
    from contracts import ContractError

    data = json.loads(encode(MESSAGES[0]))
    data["schema"] = "rebalance.requested.v99"
    with pytest.raises(ContractError):
        decode(json.dumps(data).encode())


def test_frozen_keyword_only_structs() -> None:
    for example in EXAMPLES.values():
        config = type(example).__struct_config__
        assert config.frozen, type(example)
        params = inspect.signature(type(example)).parameters.values()
        assert all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params), type(example)
        assert not config.forbid_unknown_fields, type(example)
        assert isinstance(example, msgspec.Struct)
