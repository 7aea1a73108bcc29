"""Who may call the gateway, how often, and with how big a body: one ASGI middleware for every /api route.

* **Keys and tenants.** ``GATEWAY_KEYS_FILE`` is a JSON list of ``{"tenant", "keySha256", "roles"}``:
  ``keySha256`` is the lowercase hex SHA-256 of the key a client sends as ``Authorization: Bearer <key>``
  (the file never holds a key itself); ``roles`` are among ``read``, ``trade``, ``approve`` and ``admin``
  (``admin`` grants every role). ``GATEWAY_API_KEYS`` (comma separated) is the single-tenant shortcut:
  each key belongs to tenant ``default`` with every role. With neither set the API is open (development)
  and every caller is tenant ``default``. A presented key is hashed and compared in constant time with
  every known digest.
* **Roles.** :func:`required_role` says which role a call needs (reads ``read``, approvals ``approve``,
  account and administration writes ``admin``, any other write ``trade``): no key 401, a key without
  the role 403.
* **Rate limit.** A token bucket per key (``GATEWAY_RATE_LIMIT_PER_SECOND``, burst
  ``GATEWAY_RATE_BURST``): over it, 429 with ``Retry-After``.
* **Body limit.** The body is counted as it arrives, before anything parses it: over
  ``GATEWAY_MAX_BODY_BYTES`` (``GATEWAY_MAX_REALIZED_BODY_BYTES`` for ``POST /api/tax/realized``) the
  call gets 413 and the rest of the body is never read.

The middleware leaves the caller's :class:`Principal` in ``request.state.principal``; routes use
:func:`principal_of` and :func:`visible_to` to answer 404 for another tenant's resources.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request

from shared.settings import Settings

__all__ = [
    "DEFAULT_TENANT",
    "ROLES",
    "ROLE_RULES",
    "GatewayGuard",
    "KeyEntry",
    "KeyRing",
    "Principal",
    "RateLimiter",
    "load_key_ring",
    "principal_of",
    "required_role",
    "visible_to",
]

DEFAULT_TENANT = "default"
ROLES = ("read", "trade", "approve", "admin")
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_TENANT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller: its tenant, its roles and a stable, non-secret id of its key (for rate limiting)."""

    tenant: str
    roles: frozenset[str]
    key_id: str

    def may(self, role: str) -> bool:
        return role in self.roles or "admin" in self.roles


@dataclass(frozen=True, slots=True)
class KeyEntry:
    tenant: str
    key_sha256: str
    roles: frozenset[str]


class KeyRing:
    """The known keys, by the SHA-256 of the key; empty means the API is open."""

    def __init__(self, entries: Iterable[KeyEntry]) -> None:
        self.entries = tuple(entries)

    @property
    def open(self) -> bool:
        return not self.entries

    def identify(self, presented: str) -> Principal | None:
        """The principal of ``presented`` (a raw key), comparing digests in constant time with every entry."""
        digest = hashlib.sha256(presented.encode("utf-8")).hexdigest()
        found: KeyEntry | None = None
        for entry in self.entries:  # no early exit: the time does not depend on which entry matches
            if hmac.compare_digest(digest, entry.key_sha256) and found is None:
                found = entry
        if found is None:
            return None
        return Principal(tenant=found.tenant, roles=found.roles, key_id=found.key_sha256[:16])


def _entry(raw: Any, where: str) -> KeyEntry:
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected an object with tenant, keySha256 and roles")
    unknown = set(raw) - {"tenant", "keySha256", "roles"}
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    tenant, digest, roles = raw.get("tenant"), raw.get("keySha256"), raw.get("roles")
    if not isinstance(tenant, str) or not _TENANT.match(tenant):
        raise ValueError(f"{where}.tenant: 1 to 64 letters, digits, '-' or '_'")
    if not isinstance(digest, str) or not _SHA256_HEX.match(digest):
        raise ValueError(f"{where}.keySha256: the lowercase hex SHA-256 of the key (64 characters)")
    if not isinstance(roles, list) or not roles or any(r not in ROLES for r in roles):
        raise ValueError(f"{where}.roles: a non-empty list among {', '.join(ROLES)}")
    return KeyEntry(tenant=tenant, key_sha256=digest, roles=frozenset(roles))


def parse_keys_file(text: str, source: str = "GATEWAY_KEYS_FILE") -> list[KeyEntry]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"{source}: not valid JSON ({exc})") from None
    if not isinstance(data, list):
        raise ValueError(f"{source}: expected a JSON list of {{tenant, keySha256, roles}}")
    entries = [_entry(item, f"{source}[{i}]") for i, item in enumerate(data)]
    digests = [e.key_sha256 for e in entries]
    if len(set(digests)) != len(digests):
        raise ValueError(f"{source}: the same keySha256 appears twice")
    return entries


def load_key_ring(settings: Settings) -> KeyRing:
    """Keys from ``GATEWAY_KEYS_FILE`` and the ``GATEWAY_API_KEYS`` shortcut (tenant ``default``, every role)."""
    entries: list[KeyEntry] = []
    if settings.gateway_keys_file is not None:
        path = Path(settings.gateway_keys_file)
        entries.extend(parse_keys_file(path.read_text(encoding="utf-8"), str(path)))
    for key in (k.strip() for k in settings.gateway_api_keys.split(",")):
        if key:
            digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
            entries.append(KeyEntry(tenant=DEFAULT_TENANT, key_sha256=digest, roles=frozenset(ROLES)))
    return KeyRing(entries)


# ---- roles ----------------------------------------------------------------------------------------------
ROLE_RULES: list[tuple[frozenset[str], re.Pattern[str], str]] = [
    (frozenset({"POST"}), re.compile(r"^/api/.*/(approve|reject)$"), "approve"),
    (frozenset({"POST"}), re.compile(r"^/api/tax/realized$"), "read"),  # a calculation: changes nothing
    # A custodian import: a dry run needs ``read``; the route itself asks ``trade`` to apply (routes_import).
    (frozenset({"POST"}), re.compile(r"^/api/accounts/import$"), "read"),
    (frozenset({"POST", "PUT", "PATCH", "DELETE"}), re.compile(r"^/api/(households|accounts|models)(/|$)"), "admin"),
    (frozenset({"POST", "PUT", "PATCH", "DELETE"}), re.compile(r"^/api/(admin|dlq)(/|$)"), "admin"),
    (frozenset({"GET", "HEAD"}), re.compile(r"^/api/(admin|dlq)(/|$)"), "admin"),
    # Reconciliation is firm-wide operations (a broker account may hold several tenants' accounts).
    (frozenset({"GET", "HEAD"}), re.compile(r"^/api/(reconcile$|accounts/[^/]+/reconcile)"), "admin"),
]
"""(methods, path pattern, role), first match wins; otherwise reads need ``read`` and writes ``trade``."""


def required_role(method: str, path: str) -> str:
    for methods, pattern, role in ROLE_RULES:
        if method in methods and pattern.match(path):
            return role
    return "read" if method in ("GET", "HEAD", "OPTIONS") else "trade"


# ---- rate limit -----------------------------------------------------------------------------------------
class RateLimiter:
    """A token bucket per key: ``rate`` requests per second, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = max(burst, 1.0)
        self.clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str) -> float:
        """0 when the call may proceed; else the seconds until a token is available."""
        now = self.clock()
        tokens, stamp = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - stamp) * self.rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        if len(self._buckets) > 100_000:  # forget idle keys (a full bucket is the same as no bucket)
            self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < self.burst / self.rate}
        return (1.0 - tokens) / self.rate


# ---- the middleware -------------------------------------------------------------------------------------
async def _respond(send: Send, status: int, message: str, headers: dict[str, str] | None = None) -> None:
    body = json.dumps({"success": False, "error": message}).encode()
    raw_headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def _presented_key(headers: dict[bytes, bytes]) -> str:
    authorization = headers.get(b"authorization", b"").decode("latin-1")
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return headers.get(b"x-api-key", b"").decode("latin-1").strip()


class GatewayGuard:
    """Authentication, roles, per-key rate limit and body limit for every ``/api`` route (pure ASGI)."""

    def __init__(self, app: ASGIApp, *, settings: Settings, keys: KeyRing | None = None) -> None:
        self.app = app
        self.keys = keys if keys is not None else load_key_ring(settings)
        rate = settings.gateway_rate_limit_per_second
        self.limiter = RateLimiter(rate, settings.gateway_rate_burst or rate)
        self.max_body = settings.gateway_max_body_bytes
        self.max_realized_body = settings.gateway_max_realized_body_bytes

    def _body_limit(self, path: str) -> int:
        return self.max_realized_body if path == "/api/tax/realized" else self.max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = dict(scope.get("headers") or [])
        if path.startswith("/api/") or path == "/api":
            principal = self._authenticate(headers, scope)
            if principal is None:
                await _respond(
                    send,
                    401,
                    "missing or unknown API key (Authorization: Bearer <key>)",
                    {"WWW-Authenticate": "Bearer"},
                )
                return
            role = required_role(scope["method"], path)
            if not principal.may(role):
                await _respond(send, 403, f"this key lacks the {role!r} role for {scope['method']} {path}")
                return
            wait = self.limiter.take(principal.key_id)
            if wait > 0:
                await _respond(
                    send, 429, "rate limit exceeded for this key", {"Retry-After": str(max(1, math.ceil(wait)))}
                )
                return
            scope.setdefault("state", {})["principal"] = principal
        limit = self._body_limit(path)
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _respond(send, 413, f"request body over {limit} bytes")
            return
        body, too_large = await self._read_body(receive, limit)
        if too_large:
            await _respond(send, 413, f"request body over {limit} bytes")
            return
        await self.app(scope, _replay(body, receive), send)

    def _authenticate(self, headers: dict[bytes, bytes], scope: Scope) -> Principal | None:
        if self.keys.open:
            client = scope.get("client") or ("local", 0)
            return Principal(tenant=DEFAULT_TENANT, roles=frozenset(ROLES), key_id=f"ip:{client[0]}")
        presented = _presented_key(headers)
        return self.keys.identify(presented) if presented else None

    @staticmethod
    async def _read_body(receive: Receive, limit: int) -> tuple[bytes | None, bool]:
        """The whole body (at most ``limit`` bytes; ``None`` for a message that is not a body), and whether
        it went over ``limit`` (the rest is then never read)."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return (None if not chunks else b"".join(chunks)), False
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                return None, True
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks), False


def _replay(body: bytes | None, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if body is None or sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def principal_of(request: Request) -> Principal:
    """The caller of ``request`` (set by :class:`GatewayGuard`; tenant ``default`` outside ``/api``)."""
    principal = getattr(request.state, "principal", None)
    if isinstance(principal, Principal):
        return principal
    return Principal(tenant=DEFAULT_TENANT, roles=frozenset(), key_id="anonymous")


def visible_to(principal: Principal, tenant: str | None) -> bool:
    """Whether a resource of ``tenant`` (none: the default tenant) exists for ``principal``."""
    return (tenant or DEFAULT_TENANT) == principal.tenant
