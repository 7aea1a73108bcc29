"""The AsyncAPI 3.0 document of the bus, generated from :data:`contracts.catalog.CATALOG` with each
payload's JSON schema from msgspec (the types the services really decode), and a page rendering it
(server-side HTML: no CDN)."""

from __future__ import annotations

import json
from functools import cache
from html import escape
from typing import Any

import msgspec

from contracts.catalog import CATALOG, Channel

__all__ = ["asyncapi_document", "asyncapi_html"]

_REF = "#/components/schemas/{name}"


def _type_name(type_: Any) -> str:
    return getattr(type_, "__name__", None) or "Object"


def _channel_id(channel: Channel) -> str:
    return channel.subject.replace(".", "_").replace("*", "any").replace(">", "all").replace("-", "_")


@cache
def asyncapi_document(version: str = "1.0.0") -> dict[str, Any]:
    """Every subject with its payload schema (and, for queries, the reply's)."""
    types: list[Any] = []
    for channel in CATALOG:
        types.append(channel.message)
        if channel.reply is not None:
            types.append(channel.reply)
    schemas, components = msgspec.json.schema_components(types, ref_template=_REF)
    schema_of = dict(zip([id(t) for t in types], schemas, strict=True))
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for channel in CATALOG:
        cid = _channel_id(channel)
        name = _type_name(channel.message)
        messages.setdefault(
            name,
            {"name": name, "title": name, "contentType": "application/json", "payload": schema_of[id(channel.message)]},
        )
        channel_messages = {name: {"$ref": f"#/components/messages/{name}"}}
        if channel.reply is not None:
            reply_name = f"{name}Reply"
            reply_schema = {
                "type": "object",
                "description": '{"ok": true, "result": …} or {"ok": false, "status": code, "error": "…"}',
                "properties": {
                    "ok": {"type": "boolean"},
                    "result": schema_of[id(channel.reply)],
                    "status": {"type": "integer"},
                    "error": {"type": "string"},
                },
                "required": ["ok"],
            }
            messages.setdefault(reply_name, {"name": reply_name, "contentType": "application/json",
                                             "payload": reply_schema})  # fmt: skip
            channel_messages[reply_name] = {"$ref": f"#/components/messages/{reply_name}"}
        channels[cid] = {
            "address": channel.subject,
            "title": channel.subject,
            "description": channel.summary,
            "messages": channel_messages,
            "x-kind": channel.kind,
            "x-publisher": channel.publisher,
            "x-subscriber": channel.subscriber,
        }
        operation: dict[str, Any] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{cid}"},
            "summary": f"{channel.subscriber} receives: {channel.summary}",
            "messages": [{"$ref": f"#/channels/{cid}/messages/{name}"}],
        }
        if channel.reply is not None:
            operation["reply"] = {"messages": [{"$ref": f"#/channels/{cid}/messages/{name}Reply"}]}
        operations[f"receive_{cid}"] = operation
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tax-aware portfolio rebalancer: the bus",
            "version": version,
            "description": (
                "NATS JetStream subjects: each service's commands (stream CMD, work queue), its events and "
                "the public subjects (stream EVT), server-fired timers (stream TIMERS) and core request-reply "
                "queries. JSON (msgspec); amounts are decimal strings; every message has the envelope run_id, "
                "message_id, occurred_at, schema."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {"nats": {"host": "127.0.0.1:4222", "protocol": "nats", "description": "NATS_URL"}},
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def asyncapi_html() -> str:
    """The document as a page: one section per subject (kind, publisher, subscriber) with its payload
    schema; the component schemas at the end."""
    document = asyncapi_document()
    rows = []
    for channel in document["channels"].values():
        blocks = []
        for message_name in channel["messages"]:
            payload = document["components"]["messages"][message_name]["payload"]
            blocks.append(
                f"<details><summary>{escape(message_name)}</summary>"
                f"<pre>{escape(json.dumps(payload, indent=2))}</pre></details>"
            )
        rows.append(
            f"<section class='channel' id='{escape(channel['address'])}'><h3><code>{escape(channel['address'])}</code>"
            f" <span class='kind'>{escape(channel['x-kind'])}</span></h3>"
            f"<p>{escape(channel['description'])} · from {escape(channel['x-publisher'])} "
            f"to {escape(channel['x-subscriber'])}</p>{''.join(blocks)}</section>"
        )
    schemas = "".join(
        f"<details id='schema-{escape(name)}'><summary>{escape(name)}</summary>"
        f"<pre>{escape(json.dumps(schema, indent=2))}</pre></details>"
        for name, schema in sorted(document["components"]["schemas"].items())
    )
    style = (
        "body{font-family:system-ui,sans-serif;max-width:1000px;margin:24px auto;padding:0 16px;color:#1d2330}"
        "section{border-bottom:1px solid #e3e7ee;padding:6px 0}.kind{font-size:12px;background:#eef2f8;"
        "border-radius:4px;padding:2px 6px;color:#44506a}pre{background:#f6f8fb;padding:8px;overflow:auto;"
        "font-size:12px}h3{margin:8px 0 2px;font-size:15px}p{margin:2px 0 6px;color:#4a5466;font-size:14px}"
    )
    info = document["info"]
    return (
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>{escape(info['title'])}</title>"
        f"<style>{style}</style></head><body><h1>{escape(info['title'])}</h1><p>{escape(info['description'])}</p>"
        f"<p>AsyncAPI {document['asyncapi']} document: <a href='/asyncapi.json'>/asyncapi.json</a></p>"
        f"<h2>Subjects</h2>{''.join(rows)}<h2>Schemas</h2>{schemas}</body></html>"
    )
