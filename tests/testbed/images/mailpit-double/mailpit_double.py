#!/usr/bin/env python3
"""Mailpit test double: NOT Mailpit.

No registry here serves axllent/mailpit, so the test bed runs this small stand-in instead. It
speaks the part of Mailpit's documented behaviour that the roles and tests use, configured the
same way (MP_* environment variables), so a test that passes against it passes against the real
image too (set TASC_MAILPIT_IMAGE to run the suite against the real one).

Implemented:
  SMTP          plain ESMTP on MP_SMTP_BIND_ADDR (default 0.0.0.0:1025); accepts every message,
                relays nothing (this double has no relay, forward or webhook code at all).
  HTTP          on MP_UI_BIND_ADDR (default 0.0.0.0:8025), under MP_WEBROOT:
                GET  /livez /readyz                       (never behind auth)
                GET  /api/v1/info
                GET  /api/v1/messages?start=&limit=
                PUT  /api/v1/messages                     {"IDs": [...], "Read": bool}
                DELETE /api/v1/messages                   {"IDs": [...]}; empty body deletes all
                GET  /api/v1/message/{ID|latest}[/raw]
                GET  /api/v1/search?query=&start=&limit=  to: from: subject: before: after:, words
                DELETE /api/v1/search?query=
                GET  /view/{ID|latest}.txt[?query=]
                GET  /                                    a bare HTML list for people
  Storage       MP_DATABASE (SQLite file; messages survive restarts), in memory when unset;
                MP_MAX_MESSAGES (default 500, 0 = unlimited), MP_MAX_AGE (e.g. 7d, 12h).
  Auth          MP_UI_AUTH_FILE: htpasswd file (bcrypt as $2y$/$2a$, {SHA}, plain), basic
                auth on the UI and API; /livez and /readyz stay open, as in Mailpit.
  CLI           `mailpit` serves; `mailpit readyz` is the health check command the real image's
                HEALTHCHECK uses; `mailpit version`.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import os
import re
import secrets
import signal
import sqlite3
import string
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser
from email.utils import getaddresses
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

try:  # bcrypt through libxcrypt; the module is deprecated but present in Python 3.11
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        import crypt as _crypt
except ImportError:  # pragma: no cover - only on interpreters without crypt
    _crypt = None

EMULATED_VERSION = "v1.30.5"
DOUBLE_NAME = "mailpit-double"
MAX_LINE = 4096
MAX_MESSAGE_BYTES = 25 * 1024 * 1024
_ID_ALPHABET = string.ascii_letters + string.digits


def log(msg: str) -> None:
    print(
        f"{datetime.now(UTC).isoformat(timespec='seconds')} [{DOUBLE_NAME}] {msg}",
        flush=True,
    )


def parse_bind(value: str, default_port: int) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    return (host.strip("[]") or "0.0.0.0"), int(port or default_port)


def parse_age(value: str) -> float | None:
    """MP_MAX_AGE: a number of hours, or a number with d or h (Mailpit's format)."""
    value = value.strip().lower()
    if not value:
        return None
    match = re.fullmatch(r"(\d+)([dh]?)", value)
    if not match:
        raise SystemExit(f"MP_MAX_AGE: cannot parse {value!r} (use e.g. 7d or 12h)")
    number, unit = int(match.group(1)), match.group(2) or "h"
    return number * (86400 if unit == "d" else 3600)


class Config:
    def __init__(self, env: dict[str, str]) -> None:
        self.smtp_bind = parse_bind(env.get("MP_SMTP_BIND_ADDR", "0.0.0.0:1025"), 1025)
        self.ui_bind = parse_bind(env.get("MP_UI_BIND_ADDR", "0.0.0.0:8025"), 8025)
        self.webroot = "/" + env.get("MP_WEBROOT", "/").strip("/")
        self.database = env.get("MP_DATABASE", "")
        self.max_messages = int(env.get("MP_MAX_MESSAGES", "500") or 0)
        self.max_age = parse_age(env.get("MP_MAX_AGE", ""))
        self.auth_file = env.get("MP_UI_AUTH_FILE", "")
        self.label = env.get("MP_LABEL", "")


# ---------------------------------------------------------------------------------- storage


def _addresses(header_value: str | None) -> list[dict[str, str]]:
    if not header_value:
        return []
    return [{"Name": name, "Address": addr} for name, addr in getaddresses([header_value]) if addr]


class Store:
    """Messages in SQLite, raw bytes plus the columns searches need."""

    def __init__(self, path: str, max_messages: int, max_age: float | None) -> None:
        self.path = path or ":memory:"
        self.max_messages = max_messages
        self.max_age = max_age
        self.lock = threading.Lock()
        if path:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self.db.execute(
            "CREATE TABLE IF NOT EXISTS messages (id TEXT PRIMARY KEY, created REAL NOT NULL,"
            " raw BLOB NOT NULL, read INTEGER NOT NULL DEFAULT 0, envelope_to TEXT NOT NULL,"
            " from_addr TEXT, to_addrs TEXT, subject TEXT, text TEXT)"
        )
        self.db.execute("CREATE INDEX IF NOT EXISTS messages_created ON messages(created)")

    def add(self, raw: bytes, envelope_to: list[str]) -> str:
        msg = BytesParser(policy=policy.default).parsebytes(raw)
        message_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(22))
        text = _text_body(msg)
        recipients = _addresses(msg.get("To")) + _addresses(msg.get("Cc"))
        to_all = " ".join(a["Address"] for a in recipients) + " " + " ".join(envelope_to)
        with self.lock:
            self.db.execute(
                "INSERT INTO messages (id, created, raw, envelope_to, from_addr, to_addrs,"
                " subject, text) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    message_id,
                    time.time(),
                    raw,
                    json.dumps(envelope_to),
                    str(msg.get("From", "")),
                    to_all.lower(),
                    str(msg.get("Subject", "")),
                    text,
                ),
            )
            self._prune_count()
        return message_id

    def _prune_count(self) -> None:
        if self.max_messages > 0:
            self.db.execute(
                "DELETE FROM messages WHERE id NOT IN"
                " (SELECT id FROM messages ORDER BY created DESC LIMIT ?)",
                (self.max_messages,),
            )

    def prune_age(self) -> None:
        if self.max_age:
            with self.lock:
                self.db.execute(
                    "DELETE FROM messages WHERE created < ?", (time.time() - self.max_age,)
                )

    def rows(self, ids: list[str] | None = None) -> list[tuple]:
        sql = "SELECT id, created, raw, read, from_addr, to_addrs, subject, text FROM messages"
        with self.lock:
            if ids is None:
                return self.db.execute(sql + " ORDER BY created DESC").fetchall()
            marks = ",".join("?" * len(ids))
            return self.db.execute(
                sql + f" WHERE id IN ({marks}) ORDER BY created DESC", ids
            ).fetchall()

    def get(self, message_id: str) -> tuple | None:
        rows = self.rows() if message_id == "latest" else self.rows([message_id])
        return rows[0] if rows else None

    def set_read(self, ids: list[str] | None, read: bool) -> None:
        with self.lock:
            if ids:
                marks = ",".join("?" * len(ids))
                self.db.execute(
                    f"UPDATE messages SET read = ? WHERE id IN ({marks})", [int(read), *ids]
                )
            else:
                self.db.execute("UPDATE messages SET read = ?", (int(read),))

    def delete(self, ids: list[str] | None) -> None:
        with self.lock:
            if ids is None:
                self.db.execute("DELETE FROM messages")
            elif ids:
                marks = ",".join("?" * len(ids))
                self.db.execute(f"DELETE FROM messages WHERE id IN ({marks})", ids)

    def counts(self) -> tuple[int, int]:
        with self.lock:
            total, unread = self.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(1 - read), 0) FROM messages"
            ).fetchone()
        return int(total), int(unread)


def _text_body(msg) -> str:
    part = msg.get_body(preferencelist=("plain",))
    if part is None:
        return ""
    try:
        return part.get_content()
    except (LookupError, KeyError):
        return part.get_payload(decode=True).decode("utf-8", "replace")


# ----------------------------------------------------------------------------------- search

_TOKEN = re.compile(r'([-!]?)(?:(\w+):)?(?:"([^"]*)"|(\S+))')


def _parse_when(value: str) -> float:
    for fmt in ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            parsed = datetime.strptime(value, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.timestamp()
    raise ValueError(f"cannot parse date {value!r}")


def matches(row: tuple, query: str) -> bool:
    """Mailpit search syntax subset: to: from: subject: before: after:, words, quotes, -not."""
    _id, created, _raw, _read, from_addr, to_addrs, subject, text = row
    for negate, field, quoted, bare in _TOKEN.findall(query):
        term = (quoted if quoted or not bare else bare).lower()
        field = field.lower()
        if field == "to":
            hit = term in to_addrs
        elif field == "from":
            hit = term in (from_addr or "").lower()
        elif field == "subject":
            hit = term in (subject or "").lower()
        elif field == "before":
            hit = created < _parse_when(term)
        elif field == "after":
            hit = created > _parse_when(term)
        else:
            word = f"{field}:{term}" if field else term
            haystack = " ".join([from_addr or "", to_addrs, subject or "", text or ""]).lower()
            hit = word in haystack
        if hit == bool(negate):
            return False
    return True


# ------------------------------------------------------------------------------------- json


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def summary(row: tuple) -> dict:
    message_id, created, raw, read, _from, _to, subject, text = row
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    return {
        "ID": message_id,
        "MessageID": str(msg.get("Message-ID", "")).strip("<>"),
        "Read": bool(read),
        "From": (_addresses(msg.get("From")) or [{"Name": "", "Address": ""}])[0],
        "To": _addresses(msg.get("To")),
        "Cc": _addresses(msg.get("Cc")),
        "Bcc": [],
        "ReplyTo": _addresses(msg.get("Reply-To")),
        "Subject": subject or "",
        "Created": _iso(created),
        "Username": "",
        "Tags": [],
        "Size": len(raw),
        "Attachments": 0,
        "Snippet": " ".join((text or "").split())[:250],
    }


def full_message(row: tuple) -> dict:
    message_id, created, raw, _read, _from, _to, subject, text = row
    msg = BytesParser(policy=policy.default).parsebytes(raw)
    html_part = msg.get_body(preferencelist=("html",))
    return {
        "ID": message_id,
        "MessageID": str(msg.get("Message-ID", "")).strip("<>"),
        "From": (_addresses(msg.get("From")) or [{"Name": "", "Address": ""}])[0],
        "To": _addresses(msg.get("To")),
        "Cc": _addresses(msg.get("Cc")),
        "Bcc": [],
        "ReplyTo": _addresses(msg.get("Reply-To")),
        "ReturnPath": "",
        "Subject": subject or "",
        "Date": _iso(created),
        "Tags": [],
        "Username": "",
        "Text": text or "",
        "HTML": html_part.get_content() if html_part is not None else "",
        "Size": len(raw),
        "Inline": [],
        "Attachments": [],
    }


# ------------------------------------------------------------------------------------- auth


def load_htpasswd(path: str) -> dict[str, str]:
    users: dict[str, str] = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            line = line.strip()
            if line and not line.startswith("#") and ":" in line:
                user, _, hashed = line.partition(":")
                users[user] = hashed
    if not users:
        raise SystemExit(f"MP_UI_AUTH_FILE {path}: no credentials found")
    return users


def check_password(hashed: str, password: str) -> bool:
    if hashed.startswith("{SHA}"):
        digest = base64.b64encode(hashlib.sha1(password.encode()).digest()).decode()
        return hmac.compare_digest(hashed[5:], digest)
    # Mailpit's htpasswd library (tg123/go-htpasswd) takes bcrypt as $2y$ or $2a$ only; a $2b$
    # line falls through to plain-text comparison and never matches, so the same happens here.
    if hashed.startswith(("$2y$", "$2a$")):
        if _crypt is None:
            return False
        candidate = _crypt.crypt(password, "$2b$" + hashed[4:])
        return candidate is not None and hmac.compare_digest(candidate[4:], hashed[4:])
    return hmac.compare_digest(hashed, password)


# ------------------------------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    server_version = "Mailpit-double"
    config: Config
    store: Store
    users: dict[str, str] | None

    def log_message(self, fmt: str, *args) -> None:  # quieter than the default
        if os.environ.get("MP_DOUBLE_ACCESS_LOG"):
            log(fmt % args)

    # -- plumbing
    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Mailpit-Double", EMULATED_VERSION)
        if status == 401:
            self.send_header("WWW-Authenticate", 'Basic realm="Login"')
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, payload, status: int = 200) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json; charset=utf-8")

    def _text(self, text: str, status: int = 200) -> None:
        self._send(status, text.encode(), "text/plain; charset=utf-8")

    def _body_json(self) -> dict:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw.strip() else {}

    def _route(self) -> tuple[str, dict[str, list[str]]] | None:
        parts = urlsplit(self.path)
        path = parts.path
        root = self.config.webroot
        if root != "/":
            if path != root and not path.startswith(root + "/"):
                self._text("not found", 404)
                return None
            path = path[len(root) :] or "/"
        return path, parse_qs(parts.query)

    def _authorised(self) -> bool:
        if not self.users:
            return True
        header = self.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return False
            hashed = self.users.get(user)
            return hashed is not None and check_password(hashed, password)
        return False

    def _dispatch(self) -> None:
        routed = self._route()
        if routed is None:
            return
        path, query = routed
        if path in ("/livez", "/readyz"):
            self._text("ok")
            return
        if not self._authorised():
            self._text("Unauthorised.\n", 401)
            return
        try:
            self._handle(path, query)
        except (ValueError, json.JSONDecodeError) as exc:
            self._text(str(exc), 400)

    def _page(self, rows: list[tuple], query: dict[str, list[str]]) -> dict:
        start = int(query.get("start", ["0"])[0])
        limit = int(query.get("limit", ["50"])[0])
        total, unread = self.store.counts()
        page = rows[start : start + limit]
        return {
            "total": total,
            "unread": unread,
            "count": len(page),
            "messages_count": len(rows),
            "messages_unread": sum(1 for r in rows if not r[3]),
            "start": start,
            "tags": [],
            "messages": [summary(r) for r in page],
        }

    def _search(self, query: dict[str, list[str]]) -> list[tuple]:
        text = query.get("query", [""])[0]
        if not text.strip():
            raise ValueError("no search query")
        return [r for r in self.store.rows() if matches(r, text)]

    def _handle(self, path: str, query: dict[str, list[str]]) -> None:
        method = self.command
        if path == "/api/v1/info" and method == "GET":
            total, unread = self.store.counts()
            db = self.store.path
            self._json(
                {
                    "Version": EMULATED_VERSION,
                    "LatestVersion": "",
                    "Database": db,
                    "DatabaseSize": os.path.getsize(db) if os.path.exists(db) else 0,
                    "Messages": total,
                    "Unread": unread,
                    "Tags": {},
                    "RuntimeStats": {"Uptime": int(time.time() - STARTED)},
                    "Double": True,
                    "Label": self.config.label,
                }
            )
        elif path == "/api/v1/messages" and method == "GET":
            self._json(self._page(self.store.rows(), query))
        elif path == "/api/v1/messages" and method == "DELETE":
            ids = self._body_json().get("IDs")
            self.store.delete(ids if ids else None)
            self._text("ok")
        elif path == "/api/v1/messages" and method == "PUT":
            body = self._body_json()
            self.store.set_read(body.get("IDs"), bool(body.get("Read", True)))
            self._text("ok")
        elif path == "/api/v1/search" and method == "GET":
            self._json(self._page(self._search(query), query))
        elif path == "/api/v1/search" and method == "DELETE":
            self.store.delete([r[0] for r in self._search(query)])
            self._text("ok")
        elif (
            m := re.fullmatch(r"/api/v1/message/([A-Za-z0-9]+)(/raw)?", path)
        ) and method == "GET":
            row = self.store.get(m.group(1))
            if row is None:
                self._text("message not found", 404)
            elif m.group(2):
                self._send(200, row[2], "text/plain; charset=utf-8")
            else:
                self.store.set_read([row[0]], True)
                self._json(full_message(row))
        elif (m := re.fullmatch(r"/view/([A-Za-z0-9]+)\.txt", path)) and method == "GET":
            rows = self.store.rows()
            if query.get("query", [""])[0].strip():
                rows = self._search(query)
            if m.group(1) != "latest":
                rows = [r for r in rows if r[0] == m.group(1)]
            if rows:
                self._text(rows[0][7] or "")
            else:
                self._text("message not found", 404)
        elif path in ("/", "") and method == "GET":
            self._send(200, self._index_html(), "text/html; charset=utf-8")
        else:
            self._text("not found", 404)

    def _index_html(self) -> bytes:
        from html import escape

        items = "".join(
            f"<li>{escape(s['Created'])} &mdash; <b>{escape(s['Subject'])}</b> to "
            f"{escape(', '.join(a['Address'] for a in s['To']))}</li>"
            for s in (summary(r) for r in self.store.rows()[:100])
        )
        label = escape(self.config.label or "")
        return (
            f"<!doctype html><title>Mailpit test double {label}</title>"
            f"<h1>Mailpit test double {label}</h1><p>Not Mailpit: a test stand-in.</p>"
            f"<ul>{items}</ul>"
        ).encode()

    do_GET = do_DELETE = do_PUT = do_HEAD = _dispatch


# ------------------------------------------------------------------------------------- SMTP


class SMTPSession:
    def __init__(
        self, store: Store, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self.store, self.reader, self.writer = store, reader, writer
        self.mail_from: str | None = None
        self.rcpts: list[str] = []

    async def reply(self, line: str) -> None:
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()

    async def run(self) -> None:
        await self.reply("220 mailpit-double ESMTP Mailpit test double (not Mailpit)")
        while True:
            line = await self.reader.readline()
            if not line:
                return
            if len(line) > MAX_LINE:
                await self.reply("500 Line too long")
                continue
            verb, _, arg = line.decode("utf-8", "replace").strip().partition(" ")
            verb = verb.upper()
            if verb == "EHLO":
                await self.reply("250-mailpit-double")
                await self.reply("250-8BITMIME")
                await self.reply("250-SMTPUTF8")
                await self.reply(f"250 SIZE {MAX_MESSAGE_BYTES}")
            elif verb == "HELO":
                await self.reply("250 mailpit-double")
            elif verb == "MAIL":
                match = re.match(r"FROM:\s*<([^>]*)>", arg, re.I)
                if not match:
                    await self.reply("501 Syntax: MAIL FROM:<address>")
                    continue
                self.mail_from, self.rcpts = match.group(1), []
                await self.reply("250 2.1.0 Ok")
            elif verb == "RCPT":
                match = re.match(r"TO:\s*<([^>]+)>", arg, re.I)
                if self.mail_from is None:
                    await self.reply("503 5.5.1 Error: need MAIL command")
                elif not match:
                    await self.reply("501 Syntax: RCPT TO:<address>")
                else:
                    self.rcpts.append(match.group(1))
                    await self.reply("250 2.1.5 Ok")
            elif verb == "DATA":
                if not self.rcpts:
                    await self.reply("503 5.5.1 Error: need RCPT command")
                    continue
                await self.reply("354 End data with <CR><LF>.<CR><LF>")
                raw = await self.read_data()
                if raw is None:
                    await self.reply("552 5.3.4 Message too big")
                else:
                    message_id = await asyncio.get_running_loop().run_in_executor(
                        None, self.store.add, raw, self.rcpts
                    )
                    await self.reply(f"250 2.0.0 Ok: queued as {message_id}")
                self.mail_from, self.rcpts = None, []
            elif verb == "RSET":
                self.mail_from, self.rcpts = None, []
                await self.reply("250 2.0.0 Ok")
            elif verb == "NOOP":
                await self.reply("250 2.0.0 Ok")
            elif verb == "QUIT":
                await self.reply("221 2.0.0 Bye")
                return
            else:
                await self.reply("502 5.5.2 Error: command not recognized")

    async def read_data(self) -> bytes | None:
        lines: list[bytes] = []
        size = 0
        too_big = False
        while True:
            line = await self.reader.readline()
            if not line or line in (b".\r\n", b".\n"):
                break
            if line.startswith(b".."):
                line = line[1:]
            size += len(line)
            if size > MAX_MESSAGE_BYTES:
                too_big = True
            elif not too_big:
                lines.append(line)
        return None if too_big else b"".join(lines)


async def serve_smtp(config: Config, store: Store) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await SMTPSession(store, reader, writer).run()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    host, port = config.smtp_bind
    server = await asyncio.start_server(handle, host, port, limit=MAX_LINE * 4)
    log(f"[smtpd] accepting mail on {host}:{port}")

    async def prune_loop() -> None:
        while True:
            await asyncio.sleep(60)
            store.prune_age()

    # SIGTERM and SIGINT through the event loop: an exception raised from a plain signal
    # handler lands at an arbitrary point of the loop and can leave asyncio.run waiting for a
    # future nobody completes (seen once in CI: a stop right after a message hung for 10 s).
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    pruner = asyncio.create_task(prune_loop())
    await stopping.wait()
    log("signal: shutting down")
    pruner.cancel()
    # No wait_closed(): from Python 3.12 it waits for every client to hang up.
    server.close()


# -------------------------------------------------------------------------------------- CLI

STARTED = time.time()


def serve(env: dict[str, str]) -> int:
    config = Config(env)
    store = Store(config.database, config.max_messages, config.max_age)
    store.prune_age()
    Handler.config, Handler.store = config, store
    Handler.users = load_htpasswd(config.auth_file) if config.auth_file else None
    host, port = config.ui_bind
    httpd = ThreadingHTTPServer((host, port), Handler)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    log(
        f"[http] serving on http://{host}:{port}{config.webroot}"
        f" (auth {'on' if Handler.users else 'off'}, database {store.path},"
        f" label {config.label or '-'})"
    )

    asyncio.run(serve_smtp(config, store))
    return 0


def readyz(env: dict[str, str]) -> int:
    """The health check: GET /readyz on the configured UI address (what `mailpit readyz` does)."""
    config = Config(env)
    host, port = config.ui_bind
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    root = "" if config.webroot == "/" else config.webroot
    try:
        with urllib.request.urlopen(f"http://{host}:{port}{root}/readyz", timeout=3) as response:
            return 0 if response.status == 200 else 1
    except (urllib.error.URLError, OSError):
        return 1


def main(argv: list[str]) -> int:
    args = [a for a in argv if not a.startswith("-")]
    command = args[0] if args else "serve"
    if command == "readyz":
        return readyz(dict(os.environ))
    if command == "version":
        print(f"mailpit {EMULATED_VERSION} (tasc test double; not Mailpit)")
        return 0
    if command == "serve":
        return serve(dict(os.environ))
    print(f"mailpit-double: unknown command {command!r}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
