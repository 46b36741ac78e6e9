#!/usr/bin/env python3
"""Local, stateful emulator of the Animo webhook-management API.

It plays the Laravel/Passport application behind app.animo.co (see
shared/ANIMO-API.md): the three webhook endpoints plus GET /user and
GET /companies, with the same check order (401, 403, 404/403, 422), Laravel
error bodies and validation wording. It serves HTTPS with a throw-away CA made
at start-up, and an admin API under /_emulator lets tests reset the state,
mint tokens, read the request log, change settings and queue faults (error
answers, TCP resets, truncated, stalled or trickled bodies...).

Usage:
    python3 spec/emulator/animo_emulator.py --dir DIR [--host 127.0.0.1]
        [--port 0] [--parent-pid PID]
        [--tls-cert good|wrong_ca|wrong_host|expired] [--plain]

Once listening it writes DIR/ready.json ({"pid", "port", "base_url",
"ca_file", "admin", "certs"}); SIGTERM or SIGINT stops it with status 0.
README.md next to this file lists the admin API and the faults.
Python 3.11 standard library only, plus the openssl command-line tool.
"""

from __future__ import annotations

import argparse
import base64
import ipaddress
import json
import math
import os
import re
import secrets
import select
import shutil
import signal
import socket
import socketserver
import ssl
import struct
import subprocess
import sys
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

# ---------------------------------------------------------------- fixtures

EVENT_SCOPES = {  # the 8 events, in documented order, and the scope each needs
    "activation-submitted": "activations:subscribe",
    "form-submitted": "submissions:subscribe",
    "lead-created": "leads:subscribe",
    "lead-updated": "leads:subscribe",
    "lead-deleted": "leads:subscribe",
    "meeting-booked": "meetings:subscribe",
    "meeting-updated": "meetings:subscribe",
    "meeting-cancelled": "meetings:subscribe",
}
SUBSCRIBE_SCOPES = ["activations:subscribe", "submissions:subscribe",
                    "leads:subscribe", "meetings:subscribe"]
WILDCARD_SCOPE = "*"  # Passport: a token with "*" has every scope

USERS = {
    "u1": {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com"},
    "u2": {"id": "u2", "name": "Grace Hopper", "email": "grace@example.com"},
}
COMPANIES = {  # sqid -> owner and plan features
    "c9Xk2": {"name": "Acme Events", "owner": "u1", "features": {"USE_INTEGRATIONS"}},
    "fr33C": {"name": "Acme Free", "owner": "u1", "features": set()},
    "Zz9Yq": {"name": "Globex", "owner": "u2", "features": {"USE_INTEGRATIONS"}},
}
COMPANY_ROLES = {"pro": "c9Xk2", "free": "fr33C", "foreign": "Zz9Yq"}

NAMED_TOKENS = {  # minted afresh on every reset: name -> (format, user, scopes)
    "full": ("jwt", "u1", SUBSCRIBE_SCOPES + ["companies:read", "user:read"]),
    "leads": ("jwt", "u1", ["leads:subscribe"]),
    "star": ("jwt", "u1", [WILDCARD_SCOPE]),
    "opaque": ("opaque", "u1", list(SUBSCRIBE_SCOPES)),
    "nosub": ("jwt", "u1", ["companies:read"]),
    "other": ("jwt", "u2", list(SUBSCRIBE_SCOPES)),
}

DEFAULT_SETTINGS = {"latency_ms": 0, "detach_status": 200, "update_token": "echo"}
SETTING_CHOICES = {"detach_status": (200, 204), "update_token": ("echo", "omit", "rotate")}

MAX_LENGTH = 255             # name and url, in characters
RATE_LIMIT = 60              # Laravel's throttle:api, reported but never enforced
PER_PAGE = 15                # Laravel's default page size
MAX_BODY = 8 * 1024 * 1024   # PHP's default post_max_size
OVERSIZE_BYTES = 2 * 1024 * 1024
IDLE_TIMEOUT = 300           # seconds a keep-alive connection may sit idle
HANDSHAKE_TIMEOUT = 10
API_PREFIX = "/api/v1"
ADMIN_PREFIX = "/_emulator"

# ---------------------------------------------------------------- certificates

OPENSSL_CONFIG = """\
[req]
distinguished_name = dn
prompt = no
[dn]
CN = animo
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
[leaf_localhost]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:localhost, IP:127.0.0.1
[leaf_wrong_host]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = DNS:wrong.example
# `openssl ca` is only used to back-date the expired certificate:
# OpenSSL 3.0's `x509 -req` cannot set a start date.
[ca]
default_ca = backdating_ca
[backdating_ca]
dir = ca-db
database = $dir/index.txt
new_certs_dir = $dir
serial = $dir/serial
default_md = sha256
policy = any_name
unique_subject = no
[any_name]
commonName = supplied
"""

TLS_CERT_NAMES = ("good", "wrong_ca", "wrong_host", "expired")


def generate_certs(directory: str) -> dict:
    """Make the test CA, the server certificate and the bad ones in `directory`."""

    def openssl(*args: str) -> None:
        done = subprocess.run(["openssl", *args], cwd=directory, stdin=subprocess.DEVNULL,
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args)} failed:\n{done.stderr.strip()}")

    def key(name: str) -> None:
        openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-out", f"{name}.key")

    def serial() -> str:
        return "0x" + secrets.token_hex(16)

    def ca(name: str, common_name: str) -> None:
        key(name)
        openssl("req", "-config", "openssl.cnf", "-x509", "-new", "-key", f"{name}.key",
                "-subj", f"/CN={common_name}", "-days", "2", "-sha256", "-set_serial", serial(),
                "-extensions", "v3_ca", "-out", f"{name}.pem")

    def request(name: str) -> None:
        key(name)
        openssl("req", "-config", "openssl.cnf", "-new", "-key", f"{name}.key",
                "-subj", "/CN=localhost", "-out", f"{name}.csr")

    def leaf(name: str, ca_name: str, extensions: str) -> None:
        request(name)
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.pem",
                "-CAkey", f"{ca_name}.key", "-set_serial", serial(), "-days", "1", "-sha256",
                "-extfile", "openssl.cnf", "-extensions", extensions, "-out", f"{name}.pem")

    def expired_leaf(name: str, ca_name: str) -> None:
        request(name)
        db = os.path.join(directory, "ca-db")
        shutil.rmtree(db, ignore_errors=True)
        os.makedirs(db)
        open(os.path.join(db, "index.txt"), "w").close()
        with open(os.path.join(db, "serial"), "w") as f:
            f.write(secrets.token_hex(8) + "\n")
        openssl("ca", "-config", "openssl.cnf", "-batch", "-notext", "-in", f"{name}.csr",
                "-cert", f"{ca_name}.pem", "-keyfile", f"{ca_name}.key",
                "-startdate", "20200101000000Z", "-enddate", "20200102000000Z",
                "-extensions", "leaf_localhost", "-out", f"{name}.pem")
        shutil.rmtree(db, ignore_errors=True)

    with open(os.path.join(directory, "openssl.cnf"), "w") as f:
        f.write(OPENSSL_CONFIG)
    ca("ca", "animo test CA")
    ca("other_ca", "animo other test CA")
    leaf("server", "ca", "leaf_localhost")
    leaf("wrong_ca", "other_ca", "leaf_localhost")
    leaf("wrong_host", "ca", "leaf_wrong_host")
    expired_leaf("expired", "ca")
    for name in ("server", "wrong_ca", "wrong_host", "expired"):
        os.remove(os.path.join(directory, f"{name}.csr"))

    def pair(name: str) -> dict:
        return {"cert": os.path.join(directory, f"{name}.pem"),
                "key": os.path.join(directory, f"{name}.key")}

    return {"ca": os.path.join(directory, "ca.pem"),
            "other_ca": os.path.join(directory, "other_ca.pem"),
            "good": pair("server"), "wrong_ca": pair("wrong_ca"),
            "wrong_host": pair("wrong_host"), "expired": pair("expired")}

# ---------------------------------------------------------------- tokens


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def mint_token(fmt: str, user: str, scopes: list) -> str:
    """A Passport-like personal access token: an RS256 JWT or an opaque string."""
    if fmt == "opaque":
        return secrets.token_urlsafe(30)  # 40 characters, no dots
    now = round(time.time(), 6)  # Passport writes fractional seconds
    header = {"typ": "JWT", "alg": "RS256"}
    payload = {"aud": "1", "jti": secrets.token_hex(20), "iat": now, "nbf": now,
               "exp": now + 365 * 86400, "sub": user, "scopes": list(scopes)}
    parts = [b64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, payload)]
    return ".".join(parts + [b64url(os.urandom(256))])  # the signature is never checked

# ---------------------------------------------------------------- faults

FAULT_ACTIONS = ("reset_before", "reset_after", "invalid_json", "truncate", "stall",
                 "oversize", "trickle", "hang")
DELIVERY_ACTIONS = ("truncate", "stall", "trickle")  # how an answer is sent, not what it is


@dataclass
class Fault:
    route: str = "*"
    times: int = 1
    status: int | None = None
    body: bytes | None = None
    headers: dict | None = None
    process: bool = False
    delay_ms: int = 0
    action: str | None = None
    max_ms: int = 120000
    interval_ms: int = 50

    @property
    def replaces(self) -> bool:
        """Whether the answer is the one given in the fault, not the real one."""
        if self.action in ("invalid_json", "oversize", "reset_before", "reset_after", "hang"):
            return False
        return self.status is not None or self.body is not None or self.headers is not None

    @property
    def processes(self) -> bool:
        """Whether the real handler runs (and changes the state)."""
        if self.action in ("reset_before", "hang"):
            return False
        if self.replaces:
            return self.process
        return True

    @property
    def label(self) -> str:
        return self.action or ("respond" if self.replaces else "delay")


def parse_fault(raw) -> Fault:
    """Build a Fault from its admin JSON, refusing anything unknown or ill-typed."""
    if not isinstance(raw, dict):
        raise AdminError(422, "A fault must be a JSON object.")
    unknown = set(raw) - set(Fault.__dataclass_fields__)
    if unknown:
        raise AdminError(422, f"Unknown fault field(s): {', '.join(sorted(unknown))}.")

    def integer(name: str, low: int, high: int | None = None):
        value = raw.get(name)
        if value is None:
            return None
        if not isinstance(value, int) or isinstance(value, bool) or value < low \
                or (high is not None and value > high):
            raise AdminError(422, f"Fault field {name} must be an integer >= {low}"
                             + (f" and <= {high}." if high is not None else "."))
        return value

    fault = Fault()
    route = raw.get("route", "*")
    if route != "*" and route not in ROUTE_NAMES:
        raise AdminError(422, f"Fault route must be one of *, {', '.join(ROUTE_NAMES)}.")
    fault.route = route
    action = raw.get("action")
    if action is not None and action not in FAULT_ACTIONS:
        raise AdminError(422, f"Fault action must be one of {', '.join(FAULT_ACTIONS)}.")
    fault.action = action
    for name, low, high in (("times", 1, None), ("status", 100, 599), ("delay_ms", 0, None),
                            ("max_ms", 0, None), ("interval_ms", 0, None)):
        value = integer(name, low, high)
        if value is not None:
            setattr(fault, name, value)
    if "body" in raw and raw["body"] is not None:
        body = raw["body"]
        # A JSON value other than a string is sent as its JSON text, for convenience.
        text = body if isinstance(body, str) else json.dumps(body)
        fault.body = text.encode("utf-8")
    if "headers" in raw and raw["headers"] is not None:
        headers = raw["headers"]
        if not isinstance(headers, dict):
            raise AdminError(422, "Fault headers must be an object.")
        fault.headers = {}
        for name, value in headers.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                value = str(value)
            if not re.fullmatch(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+", name) or not isinstance(value, str) \
                    or re.search(r"[\r\n\0]", value):
                raise AdminError(422, f"Bad fault header {name!r}.")
            fault.headers[name] = value
    if "process" in raw:
        if not isinstance(raw["process"], bool):
            raise AdminError(422, "Fault field process must be a boolean.")
        fault.process = raw["process"]
    if not (fault.action or fault.replaces or "delay_ms" in raw):
        raise AdminError(422, "A fault needs an action, a status, a body, headers or delay_ms.")
    return fault

# ---------------------------------------------------------------- state


class State:
    """Everything the emulator remembers; one lock guards it all."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.webhooks: dict[str, dict] = {}    # id -> record, in creation order
            self.log: list[dict] = []
            self.faults: list[list] = []            # FIFO of [Fault, uses left]
            self.settings = dict(DEFAULT_SETTINGS)
            self.tokens: dict[str, dict] = {}       # token string -> {"user", "scopes"}
            self.rate: dict[str, tuple] = {}        # rate-limit key -> (window start, hits)
            self.named_tokens = {name: self.add_token(*spec) for name, spec in NAMED_TOKENS.items()}

    def add_token(self, fmt: str, user: str, scopes: list) -> str:
        token = mint_token(fmt, user, scopes)
        self.tokens[token] = {"user": user, "scopes": list(scopes)}
        return token

    def fixtures(self) -> dict:
        return {"tokens": dict(self.named_tokens), "companies": dict(COMPANY_ROLES)}

    def take_fault(self, route: str | None) -> Fault | None:
        """Consume one use of the first queued fault that applies to `route`."""
        for entry in self.faults:
            fault = entry[0]
            if fault.route == "*" or fault.route == route:
                entry[1] -= 1
                if entry[1] == 0:
                    self.faults.remove(entry)
                return fault
        return None

    def faults_pending(self) -> int:
        return sum(left for _, left in self.faults)

    def rate_remaining(self, key: str) -> int:
        now = time.monotonic()
        start, hits = self.rate.get(key, (now, 0))
        if now - start >= 60:
            start, hits = now, 0
        self.rate[key] = (start, hits + 1)
        return max(0, RATE_LIMIT - hits - 1)

    def name_taken(self, user: str, name: str, exclude: str | None) -> bool:
        # MySQL's default collation compares case-insensitively.
        wanted = name.casefold()
        return any(hook["user"] == user and hook["id"] != exclude
                   and hook["name"].casefold() == wanted for hook in self.webhooks.values())

# ---------------------------------------------------------------- HTTP values


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: list = field(default_factory=list)


def laravel_json(payload) -> bytes:
    # PHP's json_encode defaults: escaped slashes and \uXXXX for non-ASCII.
    return json.dumps(payload, separators=(",", ":")).replace("/", "\\/").encode("ascii")


def json_response(status: int, payload, headers=()) -> Response:
    return Response(status, laravel_json(payload),
                    [("Content-Type", "application/json"), ("Cache-Control", "no-cache, private"),
                     *headers])


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers=()):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, list(headers)


class ValidationFailed(Exception):
    def __init__(self, errors: dict):
        super().__init__("validation failed")
        self.errors = errors


class AdminError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message

# ---------------------------------------------------------------- request input

_EDGE_SPACE = re.compile(r"^[\s\ufeff\u200b]+|[\s\ufeff\u200b]+$")
_BRACKET_KEY = re.compile(r"([^\[\]]+)\[([^\[\]]*)\]")


def clean_input(value):
    """Laravel's TrimStrings and ConvertEmptyStringsToNull middleware."""
    if isinstance(value, str):
        return _EDGE_SPACE.sub("", value) or None
    if isinstance(value, dict):
        return {key: clean_input(item) for key, item in value.items()}
    if isinstance(value, list):
        return [clean_input(item) for item in value]
    return value


def php_params(query: str) -> dict:
    """Parse a query string or form body the way PHP does, one bracket level deep."""
    out: dict = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        match = _BRACKET_KEY.fullmatch(key)
        if not match:
            out[key] = value
            continue
        name, index = match.groups()
        bucket = out.get(name)
        if not isinstance(bucket, dict):
            bucket = out[name] = {}
        if index == "":
            index = str(1 + max((int(k) for k in bucket if k.isdigit()), default=-1))
        bucket[index] = value
    for name, bucket in out.items():  # {"0": a, "1": b} is a PHP list
        if isinstance(bucket, dict) and list(bucket) == [str(i) for i in range(len(bucket))]:
            out[name] = list(bucket.values())
    return out


def _finite(text: str) -> float:
    number = float(text)
    if math.isinf(number):  # 1e999: PHP cannot encode it back either
        raise ValueError(text)
    return number


def _no_constant(text: str):
    raise ValueError(text)  # NaN and Infinity are not JSON


def parse_json(body: bytes):
    """The JSON value of `body`, or None when it is empty or not strict JSON."""
    if not body:
        return None
    try:
        return json.loads(body, parse_float=_finite, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        return None


@dataclass
class ApiRequest:
    method: str
    path: str           # percent-decoded, without the query string
    query: str
    headers: dict       # lower-cased names
    body: bytes
    client_ip: str
    origin: str         # https://127.0.0.1:PORT

    def input(self) -> dict:
        """Query parameters overlaid with the body, as Laravel's $request->all()."""
        ctype = self.headers.get("content-type", "").lower()
        body = {}
        if "/json" in ctype or "+json" in ctype:  # Laravel reads JSON only when told so
            parsed = parse_json(self.body)
            body = parsed if isinstance(parsed, dict) else {}
        elif "application/x-www-form-urlencoded" in ctype:
            body = php_params(self.body.decode("utf-8", "replace"))
        try:
            return clean_input({**php_params(self.query), **body})
        except RecursionError:
            return {}

    def bearer(self) -> str | None:
        header = self.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        token = token.strip()
        return token if scheme.lower() == "bearer" and token else None

    def wants_json(self) -> bool:
        accept = self.headers.get("accept", "").lower()
        if "/json" in accept or "+json" in accept:
            return True
        # Laravel's expectsJson(): an XHR that accepts anything also gets JSON.
        ajax = self.headers.get("x-requested-with", "") == "XMLHttpRequest"
        return ajax and (accept == "" or "*/*" in accept)

# ---------------------------------------------------------------- validation


class Errors:
    """Laravel's MessageBag: field -> messages, in the order the rules ran."""

    def __init__(self) -> None:
        self.fields: dict[str, list[str]] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise ValidationFailed(self.fields)


def is_blank(value) -> bool:
    """The `required` rule's idea of missing (input is already trimmed)."""
    return value is None or (isinstance(value, (list, dict)) and not value)


# A pragmatic version of Laravel 10's `url` rule: scheme, a host made of
# letters, digits, dots and hyphens (or [IPv6]), optional port, no blanks.
URL_PATTERN = re.compile(r"""
    [a-z][a-z0-9+.\-]*://
    (?:[^\s/?#@]+@)?
    (?:(?:[^\W_]|[.\-])+|\[[0-9a-f:.]+\])
    (?::[0-9]+)?
    (?:[/?#][^\s\x00-\x1f\x7f]*)?
""", re.IGNORECASE | re.VERBOSE)


def too_long(name: str) -> str:
    return f"The {name} field must not be greater than {MAX_LENGTH} characters."


def check_name(value, ctx: "Context", errors: Errors) -> None:
    if not isinstance(value, str):
        return errors.add("name", "The name field must be a string.")
    if len(value) > MAX_LENGTH:  # characters, like mb_strlen
        errors.add("name", too_long("name"))
    exclude = ctx.webhook["id"] if ctx.webhook else None
    if ctx.state.name_taken(ctx.user, value, exclude):
        errors.add("name", "The name has already been taken.")


def check_url(value, ctx: "Context", errors: Errors) -> None:
    if not isinstance(value, str):
        return errors.add("url", "The url field must be a string.")
    if not URL_PATTERN.fullmatch(value):
        errors.add("url", "The url field must be a valid URL.")
    if not value.startswith("https://"):
        errors.add("url", "The url field must start with one of the following: https://.")
    if len(value) > MAX_LENGTH:
        errors.add("url", too_long("url"))


def event_items(value) -> list:
    """(key, item) pairs of an events value: a JSON object is a PHP array too."""
    if isinstance(value, dict):
        return list(value.items())
    if isinstance(value, list):
        return list(enumerate(value))
    return []


def check_events(value, ctx: "Context", errors: Errors) -> None:
    if not isinstance(value, (list, dict)):
        return errors.add("events", "The events field must be an array.")
    seen = set()
    for key, item in event_items(value):
        name = f"events.{key}"
        if not (isinstance(item, str) and item in EVENT_SCOPES):
            errors.add(name, f"The selected {name} is invalid.")
        fingerprint = json.dumps(item, sort_keys=True)
        if fingerprint in seen:
            errors.add(name, f"The {name} field has a duplicate value.")
        seen.add(fingerprint)


FIELD_CHECKS = {"name": check_name, "url": check_url, "events": check_events}


def summary(errors: dict) -> str:
    """Laravel's ValidationException message: the first error and a count of the rest."""
    messages = [message for group in errors.values() for message in group]
    rest = len(messages) - 1
    if rest == 0:
        return messages[0]
    return f"{messages[0]} (and {rest} more {'error' if rest == 1 else 'errors'})"

# ---------------------------------------------------------------- API routes


@dataclass
class Context:
    state: State
    request: ApiRequest
    input: dict
    user: str
    scopes: list
    company: str | None = None
    webhook: dict | None = None  # the webhook being updated, for `unique` to ignore


def webhook_view(hook: dict, with_token: bool = True) -> dict:
    view = {"id": hook["id"], "name": hook["name"]}
    if with_token:
        view["token"] = hook["token"]
    view.update(url=hook["url"], events=list(hook["events"]), created_at=hook["created_at"])
    return view


def find_webhook(ctx: Context, errors: Errors) -> dict | None:
    """The `id` and `token` rules shared by update and detach."""
    hook_id, token = ctx.input.get("id"), ctx.input.get("token")
    hook = None
    if is_blank(hook_id):
        errors.add("id", "The id field is required.")
    else:
        hook = ctx.state.webhooks.get(hook_id) if isinstance(hook_id, str) else None
        if hook is None or hook["company"] != ctx.company or hook["user"] != ctx.user:
            hook = None
            errors.add("id", "The selected id is invalid.")
    if is_blank(token):
        errors.add("token", "The token field is required.")
    elif hook is not None and not (isinstance(token, str) and secrets.compare_digest(
            token.encode("utf-8"), hook["token"].encode("utf-8"))):
        errors.add("token", "The selected token is invalid.")
    return hook


def route_attach(ctx: Context) -> Response:
    errors = Errors()
    for name, check in FIELD_CHECKS.items():
        value = ctx.input.get(name)
        if is_blank(value):
            errors.add(name, f"The {name} field is required.")
        else:
            check(value, ctx, errors)
    errors.raise_if_any()
    hook = {
        "id": str(uuid.uuid4()),
        "name": ctx.input["name"],
        "url": ctx.input["url"],
        "events": [item for _, item in event_items(ctx.input["events"])],
        "token": secrets.token_urlsafe(30),
        "created_at": datetime.now(timezone.utc).isoformat(timespec="microseconds"),
        "company": ctx.company,
        "user": ctx.user,
    }
    ctx.state.webhooks[hook["id"]] = hook
    return json_response(201, {"data": webhook_view(hook)})


def route_update(ctx: Context) -> Response:
    errors = Errors()
    hook = ctx.webhook = find_webhook(ctx, errors)
    given = [name for name in FIELD_CHECKS if not is_blank(ctx.input.get(name))]
    if not given:  # required_without_all on each of the three
        for name in FIELD_CHECKS:
            others = " / ".join(other for other in FIELD_CHECKS if other != name)
            errors.add(name, f"The {name} field is required when none of {others} are present.")
    else:  # sometimes|required: a field sent empty cannot blank the stored one
        for name, check in FIELD_CHECKS.items():
            if name not in ctx.input:
                continue
            if is_blank(ctx.input[name]):
                errors.add(name, f"The {name} field is required.")
            else:
                check(ctx.input[name], ctx, errors)
    errors.raise_if_any()
    for name in given:
        value = ctx.input[name]
        hook[name] = [item for _, item in event_items(value)] if name == "events" else value
    mode = ctx.state.settings["update_token"]
    if mode == "rotate":
        hook["token"] = secrets.token_urlsafe(30)
    return json_response(200, {"data": webhook_view(hook, with_token=mode != "omit")})


def route_detach(ctx: Context) -> Response:
    errors = Errors()
    hook = find_webhook(ctx, errors)
    errors.raise_if_any()
    del ctx.state.webhooks[hook["id"]]
    if ctx.state.settings["detach_status"] == 204:
        return Response(204)
    return json_response(200, {"message": "Webhook detached."})


def route_user(ctx: Context) -> Response:
    return json_response(200, {"data": dict(USERS[ctx.user])})


def route_companies(ctx: Context) -> Response:
    owned = [{"id": sqid, "name": company["name"]}
             for sqid, company in COMPANIES.items() if company["owner"] == ctx.user]
    page = ctx.input.get("page")
    page = int(page) if isinstance(page, (str, int)) and str(page).isdigit() and int(page) > 0 else 1
    last = max(1, -(-len(owned) // PER_PAGE))
    items = owned[(page - 1) * PER_PAGE:page * PER_PAGE]
    path = f"{ctx.request.origin}{API_PREFIX}/companies"

    def url(number: int) -> str | None:
        return f"{path}?page={number}" if 1 <= number <= last else None

    first = (page - 1) * PER_PAGE + 1 if items else None
    links = [{"url": url(page - 1), "label": "&laquo; Previous", "active": False}]
    links += [{"url": url(n), "label": str(n), "active": n == page} for n in range(1, last + 1)]
    links.append({"url": url(page + 1), "label": "Next &raquo;", "active": False})
    return json_response(200, {
        "data": items,
        "links": {"first": url(1), "last": url(last), "prev": url(page - 1), "next": url(page + 1)},
        "meta": {"current_page": page, "from": first, "last_page": last, "links": links,
                 "path": path, "per_page": PER_PAGE,
                 "to": first + len(items) - 1 if items else None, "total": len(owned)},
    })


def has_scope(scopes: list, scope: str) -> bool:
    return WILDCARD_SCOPE in scopes or scope in scopes


def may_read_companies(scopes: list, data: dict) -> bool:
    return has_scope(scopes, "companies:read")


def may_subscribe(scopes: list, data: dict) -> bool:
    return any(has_scope(scopes, scope) for scope in SUBSCRIBE_SCOPES)


def may_subscribe_to_events(scopes: list, data: dict) -> bool:
    """Any subscribe scope, and the scope of every known event being set."""
    return may_subscribe(scopes, data) and all(
        has_scope(scopes, EVENT_SCOPES[item]) for _, item in event_items(data.get("events"))
        if isinstance(item, str) and item in EVENT_SCOPES)


@dataclass
class Route:
    name: str
    pattern: re.Pattern
    methods: tuple
    handler: object
    allowed: object = None  # scope check (scopes, input) -> bool; None: any valid token


_COMPANY = r"/(?P<company>[^/]+)"
ROUTES = [
    Route("attach", re.compile(API_PREFIX + _COMPANY + "/webhooks/attach"), ("POST",),
          route_attach, may_subscribe_to_events),
    Route("update", re.compile(API_PREFIX + _COMPANY + "/webhooks/update"), ("PATCH",),
          route_update, may_subscribe_to_events),
    Route("detach", re.compile(API_PREFIX + _COMPANY + "/webhooks/detach"), ("DELETE",),
          route_detach, may_subscribe),
    Route("user", re.compile(API_PREFIX + "/user"), ("GET", "HEAD"), route_user),
    Route("companies", re.compile(API_PREFIX + "/companies"), ("GET", "HEAD"),
          route_companies, may_read_companies),
]
ROUTE_NAMES = [route.name for route in ROUTES]


def match_route(method: str, path: str):
    """(route, path parameters), or (None, error) for an unknown path or method."""
    trimmed = path.rstrip("/") or "/"  # Laravel ignores a trailing slash
    for route in ROUTES:
        found = route.pattern.fullmatch(trimmed)
        if not found:
            continue
        if method not in route.methods:
            return None, HttpError(
                405, f"The {method} method is not supported for route {trimmed.lstrip('/')}. "
                     f"Supported methods: {', '.join(route.methods)}.",
                [("Allow", ", ".join(route.methods))])
        return route, found.groupdict()
    return None, HttpError(404, "Not Found.")


def handle_api(state: State, request: ApiRequest) -> Response:
    """Run one API request through the checks, in Laravel's order. Call with state.lock held."""
    key = request.bearer() or request.client_ip
    limits = [("X-RateLimit-Limit", str(RATE_LIMIT)),
              ("X-RateLimit-Remaining", str(state.rate_remaining(key)))]
    try:
        route, found = match_route(request.method, request.path)
        if route is None:
            raise found
        token = state.tokens.get(request.bearer() or "")
        if token is None:
            raise HttpError(401, "Unauthenticated.")
        data = request.input()
        if route.allowed and not route.allowed(token["scopes"], data):
            raise HttpError(403, "Invalid scope(s) provided.")
        ctx = Context(state, request, data, token["user"], token["scopes"])
        if "company" in found:
            ctx.company = found["company"]
            company = COMPANIES.get(ctx.company)
            if company is None:
                raise HttpError(404, "Not Found.")
            if company["owner"] != ctx.user:
                raise HttpError(403, "This action is unauthorized.")
            if "USE_INTEGRATIONS" not in company["features"]:
                raise HttpError(403, "Your plan does not include integrations.")
        response = route.handler(ctx)
    except HttpError as error:
        response = json_response(error.status, {"message": error.message}, error.headers)
    except ValidationFailed as failed:
        if request.wants_json():
            response = json_response(422, {"message": summary(failed.errors),
                                           "errors": failed.errors})
        else:  # a browser form post: Laravel redirects back
            response = Response(302, b"", [("Location", request.origin + "/"),
                                           ("Content-Type", "text/html; charset=UTF-8")])
    response.headers += limits
    return response

# ---------------------------------------------------------------- admin routes


def admin_reset(server, payload):
    server.state.reset()
    return server.state.fixtures()


def admin_state(server, payload):
    state = server.state
    return {"webhooks": [dict(hook) for hook in state.webhooks.values()],
            "settings": dict(state.settings), "faults_pending": state.faults_pending(),
            **state.fixtures()}


def admin_log(server, payload):
    return [dict(entry) for entry in server.state.log]


def admin_settings(server, payload):
    if not isinstance(payload, dict):
        raise AdminError(422, "Settings must be a JSON object.")
    settings = dict(server.state.settings)
    for name, value in payload.items():
        if name not in DEFAULT_SETTINGS:
            raise AdminError(422, f"Unknown setting {name!r}.")
        if name == "latency_ms":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise AdminError(422, "latency_ms must be an integer >= 0.")
        elif value not in SETTING_CHOICES[name]:
            raise AdminError(422, f"{name} must be one of {list(SETTING_CHOICES[name])}.")
        settings[name] = value
    server.state.settings = settings
    return dict(settings)


def admin_tokens(server, payload):
    if not isinstance(payload, dict):
        raise AdminError(422, "Expected a JSON object.")
    scopes = payload.get("scopes")
    fmt = payload.get("format", "jwt")
    user = payload.get("user", "u1")
    if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
        raise AdminError(422, "scopes must be a list of strings.")
    if fmt not in ("jwt", "opaque"):
        raise AdminError(422, "format must be jwt or opaque.")
    if user not in USERS:
        raise AdminError(422, f"user must be one of {', '.join(USERS)}.")
    return {"token": server.state.add_token(fmt, user, scopes)}


def admin_faults(server, payload):
    faults = [parse_fault(raw) for raw in (payload if isinstance(payload, list) else [payload])]
    server.state.faults.extend([fault, fault.times] for fault in faults)
    return {"queued": sum(fault.times for fault in faults)}


def admin_clear_faults(server, payload):
    cleared = server.state.faults_pending()
    server.state.faults.clear()
    return {"cleared": cleared}


ADMIN_ROUTES = {
    ("POST", "/reset"): admin_reset,
    ("GET", "/state"): admin_state,
    ("GET", "/log"): admin_log,
    ("POST", "/settings"): admin_settings,
    ("POST", "/tokens"): admin_tokens,
    ("POST", "/faults"): admin_faults,
    ("DELETE", "/faults"): admin_clear_faults,
}

# ---------------------------------------------------------------- HTTP layer

POLL_GONE = getattr(select, "POLLRDHUP", 0x2000) | select.POLLHUP | select.POLLERR
_PLAIN_400 = b"<html><body><h1>400 Bad Request</h1></body></html>\n"
TLS_ON_PLAIN_PORT = (b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/html\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s"
                     % (len(_PLAIN_400), _PLAIN_400))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "animo-emulator"
    timeout = IDLE_TIMEOUT

    def log_message(self, format, *args):  # quiet: no per-request lines on stderr
        pass

    def version_string(self) -> str:
        return self.server_version

    def dispatch(self) -> None:
        body = self.read_body()
        if body is None:
            return
        path = urlsplit(self.path).path
        if path == ADMIN_PREFIX or path.startswith(ADMIN_PREFIX + "/"):
            self.serve_admin(path[len(ADMIN_PREFIX):], body)
        else:
            self.serve_api(body)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = dispatch

    # -- reading

    def read_body(self) -> bytes | None:
        """The request body (Content-Length or chunked); None once an error is answered."""
        try:
            if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
                return self.read_chunked()
            length = int(self.headers.get("Content-Length") or 0)
            if length < 0:
                raise ValueError(length)
        except ValueError:
            self.reject(400, "Bad Request.")
            return None
        if length > MAX_BODY:
            self.reject(413, "Content Too Large.")
            return None
        return self.rfile.read(length)

    def read_chunked(self) -> bytes | None:
        chunks, total = [], 0
        while True:
            size = int(self.rfile.readline(1024).split(b";")[0].strip() or b"x", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                self.reject(413, "Content Too Large.")
                return None
            chunks.append(self.rfile.read(size))
            self.rfile.readline(1024)

    def reject(self, status: int, message: str) -> None:
        self.send(json_response(status, {"message": message}, [("Connection", "close")]))

    # -- writing

    def send(self, response: Response, mode: str = "normal", fault: Fault | None = None) -> None:
        """Write a response; `mode` truncate/stall/trickle misbehaves on purpose."""
        self.send_response(response.status)
        names = {name.lower() for name, _ in response.headers}
        for name, value in response.headers:
            self.send_header(name, value)
        if "content-length" not in names and response.status not in (204, 304) \
                and response.status >= 200:  # RFC 9110: no Content-Length on 1xx/204/304
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        body = b"" if self.command == "HEAD" else response.body
        if mode == "truncate":
            self.wfile.write(body[:len(body) // 2])
            self.close()
        elif mode == "stall":
            self.wfile.write(body[:len(body) // 2])
            self.wait_for_client(fault.max_ms)
            self.close()
        elif mode == "trickle":
            for i in range(len(body)):
                self.wfile.write(body[i:i + 1])
                if i + 1 < len(body) and self.wait_for_client(fault.interval_ms):
                    return self.close()
        else:
            self.wfile.write(body)

    def wait_for_client(self, ms: float) -> bool:
        """Sleep up to `ms`, ending early (True) when the client closes or resets."""
        poller = select.poll()
        poller.register(self.connection.fileno(), POLL_GONE)
        deadline = time.monotonic() + ms / 1000
        while (left := deadline - time.monotonic()) > 0:
            if poller.poll(left * 1000):
                return True
        return False

    def close(self) -> None:
        """Close with an ordinary FIN (no TLS close_notify: the server just goes away)."""
        self.close_connection = True
        for closeable in (self.rfile, self.connection):
            try:
                closeable.close()
            except OSError:
                pass

    def abort(self) -> None:
        """Close with a TCP RST: SO_LINGER on with a zero timeout."""
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except OSError:
            pass
        self.close()

    # -- the API

    def serve_api(self, body: bytes) -> None:
        state: State = self.server.state
        split = urlsplit(self.path)
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            name = name.lower()
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        request = ApiRequest(self.command, unquote(split.path), split.query, headers, body,
                             self.client_address[0], self.server.origin)
        route, _ = match_route(request.method, request.path)
        route_name = route.name if route else None
        entry = {"method": self.command, "path": self.path, "headers": headers,
                 "body": body.decode("utf-8", "replace"), "json": parse_json(body),
                 "status": None, "route": route_name, "fault": None, "time": time.time()}
        with state.lock:
            fault = state.take_fault(route_name)
            entry["fault"] = fault.label if fault else None
            state.log.append(entry)
            latency = state.settings["latency_ms"]
        action = fault.action if fault else None
        if action == "hang":
            self.wait_for_client(fault.max_ms)
            return self.close()

        response = self.process(request) if (fault is None or fault.processes) else None
        if fault:
            response = self.faulty_response(fault, response)
        delay = latency + (fault.delay_ms if fault else 0)
        if delay and self.wait_for_client(delay):
            return self.close()  # the client gave up: nobody to answer
        if action in ("reset_before", "reset_after"):
            return self.abort()
        with state.lock:
            entry["status"] = response.status
        mode = action if action in DELIVERY_ACTIONS else "normal"
        self.send(response, mode, fault)

    def process(self, request: ApiRequest) -> Response:
        try:
            with self.server.state.lock:
                return handle_api(self.server.state, request)
        except Exception:  # a bug here must not kill the connection silently
            traceback.print_exc()
            return json_response(500, {"message": "Server Error"})

    @staticmethod
    def faulty_response(fault: Fault, real: Response | None) -> Response | None:
        if fault.action == "invalid_json":
            headers = [h for h in real.headers if h[0].lower() != "content-type"]
            return Response(fault.status or 200, b'{"data": {"id": ',
                            [("Content-Type", "application/json")] + headers)
        if fault.action == "oversize":
            payload = parse_json(real.body)
            payload = payload if isinstance(payload, dict) else {}
            data = payload.get("data") if isinstance(payload.get("data"), dict) else payload
            data = {**data, "padding": "x" * OVERSIZE_BYTES}
            return json_response(200, {"data": data},
                                 [h for h in real.headers if h[0].startswith("X-RateLimit")])
        if fault.replaces:
            headers = dict(fault.headers or {})
            body = fault.body or b""
            if body and not any(name.lower() == "content-type" for name in headers):
                # Real servers always label a body: JSON if it parses, else an HTML page.
                is_json = body.strip() == b"null" or parse_json(body) is not None
                headers["Content-Type"] = "application/json" if is_json else "text/html; charset=UTF-8"
            return Response(fault.status or 200, body, list(headers.items()))
        return real

    # -- the admin API

    def serve_admin(self, subpath: str, body: bytes) -> None:
        try:
            handler = ADMIN_ROUTES.get((self.command, subpath))
            if handler is None:
                known = any(path == subpath for _, path in ADMIN_ROUTES)
                raise AdminError(405 if known else 404,
                                 "Method not allowed." if known else "No such admin route.")
            payload = parse_json(body) if body.strip() else {}
            if payload is None:
                raise AdminError(400, "The body is not valid JSON.")
            with self.server.state.lock:
                status, result = 200, handler(self.server, payload)
        except AdminError as error:
            status, result = error.status, {"message": error.message}
        self.send(Response(status, json.dumps(result).encode(),
                           [("Content-Type", "application/json")]))


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    # socketserver's default backlog of 5 drops the SYNs of a burst of new
    # connections (clients then wait a 1 s retransmit); servers use more.
    request_queue_size = 128

    def __init__(self, host: str, port: int, state: State, tls: ssl.SSLContext | None):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.state = state
        self.tls = tls
        super().__init__((host, port), Handler)
        shown = f"[{host}]" if ":" in host else host
        self.origin = f"{'https' if tls else 'http'}://{shown}:{self.server_address[1]}"

    def server_bind(self) -> None:
        # HTTPServer.server_bind resolves the host name (getfqdn): slow, and not needed.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def finish_request(self, request, client_address) -> None:
        """TLS handshake in the connection's own thread, then the handler."""
        conn = request
        # Like nginx's tcp_nodelay: the headers and the body are separate
        # writes, and Nagle would hold the body for the client's delayed ACK.
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            if self.tls is not None:
                request.settimeout(HANDSHAKE_TIMEOUT)
                conn = self.tls.wrap_socket(request, server_side=True)
            else:
                request.settimeout(IDLE_TIMEOUT)
                if request.recv(1, socket.MSG_PEEK) == b"\x16":
                    # A TLS ClientHello on the plain port: answer like nginx would.
                    request.sendall(TLS_ON_PLAIN_PORT)
                    return
        except OSError:
            return  # failed handshake or client gone: the client reports it
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            if conn is not request:
                conn.close()

    def handle_error(self, request, client_address) -> None:
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError, ssl.SSLError)):
            return  # clients hanging up are normal here
        super().handle_error(request, client_address)

# ---------------------------------------------------------------- main


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # alive, but not ours to signal
    try:  # a zombie still answers kill(pid, 0): look at its state on Linux
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def watch_parent(pid: int, stop: threading.Event) -> None:
    """Stop when the parent process is gone, so an emulator is never orphaned."""
    while process_alive(pid):
        if stop.wait(1.0):
            return
    stop.set()


def write_json_atomically(path: str, payload: dict) -> None:
    temporary = f"{path}.{os.getpid()}.tmp"
    with open(temporary, "w") as f:
        json.dump(payload, f, indent=2)
    os.replace(temporary, path)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Local emulator of the Animo webhook API.")
    parser.add_argument("--dir", required=True, help="where certificates and ready.json go")
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0: any free one)")
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    parser.add_argument("--tls-cert", default="good", choices=TLS_CERT_NAMES,
                        help="server certificate to present")
    parser.add_argument("--plain", action="store_true", help="serve plain HTTP, no TLS")
    args = parser.parse_args(argv)
    if args.host == "localhost":
        args.host = "127.0.0.1"
    try:
        loopback = ipaddress.ip_address(args.host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        parser.error(f"--host must be a loopback address, not {args.host!r}")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    directory = os.path.abspath(args.dir)
    os.makedirs(directory, exist_ok=True)
    ready_path = os.path.join(directory, "ready.json")
    if os.path.exists(ready_path):
        os.remove(ready_path)  # never let a waiting test read a stale one
    try:
        certs = generate_certs(directory)
    except (OSError, RuntimeError) as error:  # no openssl, unwritable DIR...
        print(f"animo emulator: cannot make certificates: {error}", file=sys.stderr)
        return 1

    tls = None
    if not args.plain:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        tls.set_alpn_protocols(["http/1.1"])
        chosen = certs[args.tls_cert]
        tls.load_cert_chain(chosen["cert"], chosen["key"])

    server = EmulatorServer(args.host, args.port, State(), tls)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                     daemon=True).start()
    if args.parent_pid:
        threading.Thread(target=watch_parent, args=(args.parent_pid, stop), daemon=True).start()

    write_json_atomically(ready_path, {
        "pid": os.getpid(), "port": server.server_address[1],
        "base_url": server.origin + API_PREFIX, "ca_file": certs["ca"],
        "admin": server.origin + ADMIN_PREFIX, "certs": certs,
        "tls_cert": None if args.plain else args.tls_cert, "plain": args.plain,
    })
    while not stop.wait(0.5):
        pass
    server.shutdown()
    server.server_close()
    try:
        os.remove(ready_path)
    except OSError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
