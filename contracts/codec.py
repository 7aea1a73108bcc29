"""The one codec of the bus: msgspec JSON.

msgspec was measured against pydantic v2 on a 150-lot portfolio message (``bench/bench_codec.py``):
it round-trips about four times faster and validates the same types, so every bus message and the
stored state use it; pydantic stays at the HTTP edge (FastAPI request models and OpenAPI).
"""

from __future__ import annotations

import zlib
from typing import Any, TypeVar

import msgspec

from contracts.bundles import ChunkRecord
from contracts.messages import Message
from shared.errors import InvalidInputError  # the one error tree; shared.errors imports nothing

__all__ = ["ContractError", "decode", "decode_as", "decode_chunk", "encode", "encode_chunk", "to_builtins"]

T = TypeVar("T")

_encoder = msgspec.json.Encoder(decimal_format="string")
_decoder: msgspec.json.Decoder[Any] = msgspec.json.Decoder(Message)


class ContractError(InvalidInputError, ValueError):
    """A message that does not decode to the contract it claims; the text names the problem."""


def encode(value: object) -> bytes:
    """Encode a message or value to JSON bytes (Decimals as strings, datetimes as ISO-8601)."""
    return _encoder.encode(value)


def decode(data: bytes) -> Message:
    """Decode any bus message by its ``schema`` tag."""
    try:
        return _decoder.decode(data)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ContractError(str(exc)) from None
    except RecursionError:
        raise ContractError("JSON nested too deeply") from None


def decode_as(data: bytes, type_: type[T]) -> T:
    """Decode ``data`` as exactly ``type_``."""
    try:
        return msgspec.json.decode(data, type=type_)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise ContractError(str(exc)) from None
    except RecursionError:
        raise ContractError("JSON nested too deeply") from None


def to_builtins(value: object) -> Any:
    """The JSON-ready builtins of a value (for HTTP responses)."""
    return msgspec.to_builtins(value, builtin_types=None, str_keys=True, enc_hook=None)


def encode_chunk(chunk: ChunkRecord) -> bytes:
    """A chunk record as stored (:mod:`contracts.bundles`): JSON compressed with zlib. Its runs repeat one
    structure, so it shrinks about tenfold, and it is written once per message that changes it."""
    return zlib.compress(_encoder.encode(chunk), 1)


def decode_chunk(data: bytes) -> ChunkRecord:
    """The chunk record stored by :func:`encode_chunk` (plain JSON is read too)."""
    if data[:1] != b"{":
        try:
            data = zlib.decompress(data)
        except zlib.error as exc:
            raise ContractError(f"chunk record does not decompress: {exc}") from None
    return decode_as(data, ChunkRecord)
