"""Notification channels against real local servers: aiosmtpd for e-mail, http.server for webhooks.

No mocks: each test talks SMTP or HTTP over 127.0.0.1 to a server started for it and stopped after it.
Waits are recorded through the injected ``sleep`` so retry schedules are asserted without sleeping.
"""

from __future__ import annotations

import json
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import trustme
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from casewarden.errors import ConfigError, NotifyError
from casewarden.sync.notify import (
    EmailChannel,
    Notification,
    WebhookChannel,
    build_channel,
    header_key,
    mask_url,
    message_id_for,
    webhook_payload,
)

SENDER = "casewarden@support.example.com"
RECIPIENTS = ["oncall@example.com", "lead@example.com"]
SMTP_USER = "casewarden-bot"
SMTP_PASSWORD = "pw-Zx9-very-s3cret"
SMTP_ENV = {"SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD}

HOOK_PATH = "/services/T000/B000/hookTokenS3cret"
HOOK_TOKEN = "Bearer tok-4b1d-s3cret-value"
CUSTOMER_DATA = "Jane Customer, card 4111-1111-1111-1111"


def make_notification(key: str = "CASE-42:escalate:L2:0") -> Notification:
    return Notification(
        key=key,
        case_id="CASE-42",
        case_url="https://tracker.example.com/cases/CASE-42",
        level="S2",
        target="first_response",
        reason="S2 first response target breached at 2026-11-20T10:00:00+00:00",
        subject="[casewarden] CASE-42 breached first response",
        text="The first response target of this case was missed.",
    )


class Sleeps(list[float]):
    """An injectable ``sleep`` recording the waits instead of sleeping."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in (SMTP_PASSWORD, HOOK_PATH, "hookTokenS3cret", HOOK_TOKEN, "tok-4b1d", CUSTOMER_DATA):
            assert secret not in text


# ------------------------------------------------------------------------------------------------
# SMTP server


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    message: EmailMessage
    tls: bool


@dataclass
class RecordingHandler:
    """aiosmtpd handler collecting messages; ``rcpt_replies``/``data_replies`` script failures first."""

    messages: list[Received] = field(default_factory=list)
    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_replies:
            return self.data_replies.pop(0)
        raw = envelope.original_content
        assert isinstance(raw, bytes)
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        assert server.transport is not None
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.messages.append(Received(str(envelope.mail_from), list(envelope.rcpt_tos), message, tls))
        return "250 Message accepted for delivery"


@dataclass
class Authenticator:
    """Accepts exactly SMTP_USER/SMTP_PASSWORD and remembers which mechanisms were used."""

    mechanisms: list[str] = field(default_factory=list)

    def __call__(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        self.mechanisms.append(mechanism)
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == SMTP_USER.encode()
            and auth_data.password == SMTP_PASSWORD.encode()
        )
        # handled=False: let aiosmtpd answer 535 itself on failure
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    port: int
    handler: RecordingHandler


StartSmtp = Callable[..., SmtpServer]


@pytest.fixture
def start_smtp() -> Iterator[StartSmtp]:
    """Start aiosmtpd controllers on free ports (``**kwargs`` go to Controller/SMTP); all stopped after."""
    controllers: list[Controller] = []

    def start(**kwargs: Any) -> SmtpServer:
        handler = RecordingHandler()
        for _ in range(5):  # a free port can be taken between probing and binding: try another
            port = free_port()
            controller = Controller(
                handler, hostname="127.0.0.1", port=port, server_hostname="mx.test", **kwargs
            )
            try:
                controller.start()
            except OSError:
                continue
            controllers.append(controller)
            return SmtpServer(port, handler)
        raise RuntimeError("no free port for the SMTP server")

    yield start
    for controller in controllers:
        controller.stop()


@pytest.fixture(scope="module")
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="module")
def server_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


@pytest.fixture(scope="module")
def client_tls(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context()
    ca.configure_trust(ctx)
    return ctx


@pytest.fixture
def caplog_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="casewarden")
    return caplog


def email_channel(port: int, sleeps: Sleeps, **kwargs: Any) -> EmailChannel:
    options: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "security": "none",
        "sender": SENDER,
        "recipients": RECIPIENTS,
        "timeout": 5,
        "sleep": sleeps,
        "environ": SMTP_ENV,
        "local_hostname": "casewarden.test",
    }
    options.update(kwargs)
    return EmailChannel("mail", **options)


def assert_carries_notification(received: Received, n: Notification) -> None:
    msg = received.message
    assert msg["X-Casewarden-Key"] == n.key
    assert msg["Message-ID"] == message_id_for(n.key, SENDER)
    assert msg["Subject"] == n.subject
    assert msg["From"] == SENDER
    assert received.mail_from == SENDER
    assert sorted(received.rcpt_tos) == sorted(RECIPIENTS)
    body = msg.get_content()
    for fact in (n.case_url, n.level, n.target, n.reason, n.text):
        assert fact in body


# ------------------------------------------------------------------------------------------------
# E-mail


def test_email_plain_delivery(start_smtp: StartSmtp, caplog_debug: pytest.LogCaptureFixture) -> None:
    server = start_smtp()
    sleeps = Sleeps()
    n = make_notification()
    email_channel(server.port, sleeps).send(n)
    [received] = server.handler.messages
    assert_carries_notification(received, n)
    assert received.message.get_content_type() == "text/plain"
    assert not received.tls
    assert sleeps == []
    assert "delivered CASE-42:escalate:L2:0" in caplog_debug.text


def test_email_message_id_is_deterministic_per_key(start_smtp: StartSmtp) -> None:
    server = start_smtp()
    channel = email_channel(server.port, Sleeps())
    channel.send(make_notification("K:1"))
    channel.send(make_notification("K:1"))
    channel.send(make_notification("K:2"))
    ids = [r.message["Message-ID"] for r in server.handler.messages]
    assert ids[0] == ids[1] != ids[2]
    assert ids[0].endswith("@support.example.com>")


@pytest.mark.parametrize(("excluded", "used"), [(["LOGIN"], "PLAIN"), (["PLAIN"], "LOGIN")])
def test_email_auth_without_tls(start_smtp: StartSmtp, excluded: list[str], used: str) -> None:
    auth = Authenticator()
    server = start_smtp(authenticator=auth, auth_require_tls=False, auth_exclude_mechanism=excluded)
    channel = email_channel(server.port, Sleeps(), username_env="SMTP_USER", password_env="SMTP_PASSWORD")
    channel.send(make_notification())
    assert auth.mechanisms == [used]
    assert len(server.handler.messages) == 1
    assert SMTP_PASSWORD not in repr(channel)


def test_email_wrong_password_fails_at_once_without_leaking_it(
    start_smtp: StartSmtp, caplog_debug: pytest.LogCaptureFixture
) -> None:
    server = start_smtp(authenticator=Authenticator(), auth_require_tls=False)
    sleeps = Sleeps()
    wrong = {"SMTP_USER": SMTP_USER, "SMTP_PASSWORD": SMTP_PASSWORD + "-wrong"}
    channel = email_channel(
        server.port, sleeps, username_env="SMTP_USER", password_env="SMTP_PASSWORD", environ=wrong
    )
    with pytest.raises(NotifyError, match="535") as info:
        channel.send(make_notification())
    assert sleeps == []
    assert server.handler.messages == []
    assert_no_secrets(str(info.value), caplog_debug.text, repr(channel))


def test_email_starttls_with_auth(
    start_smtp: StartSmtp, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    auth = Authenticator()
    # auth_require_tls (the default) makes the server refuse AUTH before STARTTLS
    server = start_smtp(tls_context=server_tls, require_starttls=True, authenticator=auth, auth_required=True)
    channel = email_channel(
        server.port,
        Sleeps(),
        security="starttls",
        ssl_context=client_tls,
        username_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
    )
    n = make_notification()
    channel.send(n)
    [received] = server.handler.messages
    assert received.tls
    assert auth.mechanisms
    assert_carries_notification(received, n)


def test_email_starttls_untrusted_certificate_is_not_retried(
    start_smtp: StartSmtp, server_tls: ssl.SSLContext
) -> None:
    server = start_smtp(tls_context=server_tls)
    sleeps = Sleeps()
    channel = email_channel(
        server.port, sleeps, security="starttls", ssl_context=ssl.create_default_context()
    )
    with pytest.raises(NotifyError, match="not trusted"):
        channel.send(make_notification())
    assert sleeps == []
    assert server.handler.messages == []


def test_email_starttls_is_never_silently_dropped(start_smtp: StartSmtp, client_tls: ssl.SSLContext) -> None:
    server = start_smtp()  # no tls_context: the server does not offer STARTTLS
    sleeps = Sleeps()
    channel = email_channel(server.port, sleeps, security="starttls", ssl_context=client_tls)
    with pytest.raises(NotifyError, match="does not offer STARTTLS"):
        channel.send(make_notification())
    assert sleeps == []
    assert server.handler.messages == []


def test_email_implicit_tls(
    start_smtp: StartSmtp, server_tls: ssl.SSLContext, client_tls: ssl.SSLContext
) -> None:
    auth = Authenticator()
    server = start_smtp(ssl_context=server_tls, authenticator=auth, auth_require_tls=False)
    channel = email_channel(
        server.port,
        Sleeps(),
        security="ssl",
        ssl_context=client_tls,
        username_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
    )
    n = make_notification()
    channel.send(n)
    [received] = server.handler.messages
    assert received.tls
    assert auth.mechanisms
    assert_carries_notification(received, n)


def test_email_temporary_failure_is_retried_then_delivered(
    start_smtp: StartSmtp, caplog_debug: pytest.LogCaptureFixture
) -> None:
    server = start_smtp()
    server.handler.data_replies.append("451 4.3.0 Mail server temporarily rejected message")
    sleeps = Sleeps()
    email_channel(server.port, sleeps).send(make_notification())
    assert len(sleeps) == 1
    assert 0.0 <= sleeps[0] <= 0.5
    assert len(server.handler.messages) == 1
    assert "451" in caplog_debug.text
    assert "retrying" in caplog_debug.text


def test_email_temporary_failures_exhaust_attempts(start_smtp: StartSmtp) -> None:
    server = start_smtp()
    server.handler.rcpt_replies.extend(["450 4.2.1 mailbox busy"] * 10)
    sleeps = Sleeps()
    with pytest.raises(NotifyError, match=r"450.*after 3 attempts"):
        email_channel(server.port, sleeps, recipients=["oncall@example.com"], attempts=3).send(
            make_notification()
        )
    assert len(sleeps) == 2
    assert server.handler.messages == []


@pytest.mark.parametrize(
    ("script", "stage"),
    [("data_replies", "DATA"), ("rcpt_replies", "RCPT")],
)
def test_email_permanent_failure_is_not_retried(start_smtp: StartSmtp, script: str, stage: str) -> None:
    server = start_smtp()
    getattr(server.handler, script).extend(["550 5.1.1 mailbox unavailable"] * 2)
    sleeps = Sleeps()
    channel = email_channel(server.port, sleeps, recipients=["oncall@example.com"])
    with pytest.raises(NotifyError, match=f"550 at {stage}"):
        channel.send(make_notification())
    assert sleeps == []
    assert server.handler.messages == []


def test_email_connection_refused_is_retried_then_reported() -> None:
    sleeps = Sleeps()
    channel = email_channel(free_port(), sleeps, attempts=3)
    with pytest.raises(NotifyError, match=r"connection failed.*after 3 attempts"):
        channel.send(make_notification())
    assert len(sleeps) == 2


# ------------------------------------------------------------------------------------------------
# HTTP server


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass
class HookServer:
    base: str
    requests: list[Recorded] = field(default_factory=list)
    script: list[Reply] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return self.base + HOOK_PATH


@pytest.fixture
def hook_server() -> Iterator[HookServer]:
    """A real HTTP server recording requests and answering from ``script`` (then 200)."""
    state = HookServer(base="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            with state.lock:
                state.requests.append(Recorded("POST", self.path, dict(self.headers.items()), body))
                reply = state.script.pop(0) if state.script else Reply(200, body=b"ok")
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy set in the developer's environment must not swallow requests to 127.0.0.1."""
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "*")


def hook_channel(server: HookServer, sleeps: Sleeps, **kwargs: Any) -> WebhookChannel:
    options: dict[str, Any] = {
        "url_env": "HOOK_URL",
        "headers_env": {"Authorization": "HOOK_TOKEN"},
        "timeout": 5,
        "sleep": sleeps,
        "environ": {"HOOK_URL": server.url, "HOOK_TOKEN": HOOK_TOKEN},
    }
    options.update(kwargs)
    return WebhookChannel("hook", **options)


# ------------------------------------------------------------------------------------------------
# Webhook


def test_webhook_delivery_body_and_headers(
    hook_server: HookServer, caplog_debug: pytest.LogCaptureFixture
) -> None:
    sleeps = Sleeps()
    n = make_notification()
    hook_channel(hook_server, sleeps).send(n)
    [req] = hook_server.requests
    assert req.path == HOOK_PATH
    assert req.headers["Idempotency-Key"] == n.key
    assert req.headers["Authorization"] == HOOK_TOKEN
    assert req.headers["Content-Type"].startswith("application/json")
    payload = json.loads(req.body)
    assert set(payload) == {"text", "casewarden"}
    assert payload["casewarden"] == {
        "key": n.key,
        "case_id": n.case_id,
        "case_url": n.case_url,
        "level": n.level,
        "target": n.target,
        "reason": n.reason,
    }
    assert n.case_url in payload["text"]
    assert "\n" not in payload["text"]
    assert payload == webhook_payload(n)
    assert sleeps == []
    assert "delivered" in caplog_debug.text
    assert hook_server.base in caplog_debug.text
    assert_no_secrets(caplog_debug.text)


def test_webhook_429_honours_retry_after_seconds(hook_server: HookServer) -> None:
    hook_server.script.append(Reply(429, {"Retry-After": "1"}))
    sleeps = Sleeps()
    hook_channel(hook_server, sleeps).send(make_notification())
    assert sleeps == [1.0]
    assert len(hook_server.requests) == 2
    assert {r.headers["Idempotency-Key"] for r in hook_server.requests} == {"CASE-42:escalate:L2:0"}


def test_webhook_503_honours_retry_after_http_date(hook_server: HookServer) -> None:
    hook_server.script.append(Reply(503, {"Retry-After": formatdate(time.time() + 20, usegmt=True)}))
    sleeps = Sleeps()
    hook_channel(hook_server, sleeps).send(make_notification())
    assert len(sleeps) == 1
    assert 17.0 <= sleeps[0] <= 20.0


def test_webhook_503_twice_then_ok_backs_off(
    hook_server: HookServer, caplog_debug: pytest.LogCaptureFixture
) -> None:
    hook_server.script.extend([Reply(503, body=CUSTOMER_DATA.encode()), Reply(503)])
    sleeps = Sleeps()
    hook_channel(hook_server, sleeps).send(make_notification())
    assert len(hook_server.requests) == 3
    assert len(sleeps) == 2
    assert 0.0 <= sleeps[0] <= 0.5
    assert 0.0 <= sleeps[1] <= 1.0
    assert caplog_debug.text.count("retrying in") == 2
    assert_no_secrets(caplog_debug.text)


def test_webhook_5xx_exhausts_attempts(
    hook_server: HookServer, caplog_debug: pytest.LogCaptureFixture
) -> None:
    hook_server.script.extend([Reply(503, body=CUSTOMER_DATA.encode())] * 5)
    sleeps = Sleeps()
    with pytest.raises(NotifyError, match=r"HTTP 503.*after 3 attempts") as info:
        hook_channel(hook_server, sleeps, attempts=3).send(make_notification())
    assert len(hook_server.requests) == 3
    assert len(sleeps) == 2
    assert_no_secrets(str(info.value), caplog_debug.text)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 301])
def test_webhook_permanent_status_is_not_retried(
    hook_server: HookServer, caplog_debug: pytest.LogCaptureFixture, status: int
) -> None:
    headers = {"Location": hook_server.base + "/elsewhere"} if status == 301 else {}
    hook_server.script.append(Reply(status, headers, body=CUSTOMER_DATA.encode()))
    sleeps = Sleeps()
    channel = hook_channel(hook_server, sleeps)
    with pytest.raises(NotifyError, match=f"HTTP {status}") as info:
        channel.send(make_notification())
    assert len(hook_server.requests) == 1
    assert sleeps == []
    message = str(info.value)
    assert hook_server.base + "/***" in message
    assert_no_secrets(message, caplog_debug.text, repr(channel))


def test_webhook_connection_refused_is_retried_without_leaking_the_url(
    caplog_debug: pytest.LogCaptureFixture,
) -> None:
    sleeps = Sleeps()
    url = f"http://127.0.0.1:{free_port()}{HOOK_PATH}"
    channel = WebhookChannel("hook", url_env="HOOK_URL", sleep=sleeps, attempts=3, environ={"HOOK_URL": url})
    with pytest.raises(NotifyError, match="ConnectionError") as info:
        channel.send(make_notification())
    assert len(sleeps) == 2
    assert caplog_debug.text.count("retrying in") == 2
    assert_no_secrets(str(info.value), caplog_debug.text)
    # the chained cause is our own masked error, not the requests exception that holds the URL
    cause = info.value.__cause__
    assert cause is not None
    assert_no_secrets(str(cause))
    assert cause.__cause__ is None


def test_build_channel_webhook_with_literal_url_delivers(hook_server: HookServer) -> None:
    channel = build_channel("hook", {"type": "webhook", "url": hook_server.url})
    assert isinstance(channel, WebhookChannel)
    channel.send(make_notification())
    assert len(hook_server.requests) == 1


# ------------------------------------------------------------------------------------------------
# build_channel and small pieces


def test_build_channel_email_from_spec(start_smtp: StartSmtp) -> None:
    server = start_smtp(authenticator=Authenticator(), auth_require_tls=False)
    spec = {
        "type": "email",
        "host": "127.0.0.1",
        "port": server.port,
        "security": "none",
        "from": SENDER,
        "to": RECIPIENTS,
        "username_env": "SMTP_USER",
        "password_env": "SMTP_PASSWORD",
        "timeout": 5,
    }
    channel = build_channel("mail", spec, environ=SMTP_ENV)
    assert isinstance(channel, EmailChannel)
    channel.send(make_notification())
    assert len(server.handler.messages) == 1


@pytest.mark.parametrize(("security", "port"), [("starttls", 587), ("ssl", 465), ("none", 25)])
def test_build_channel_email_default_ports(security: str, port: int) -> None:
    spec = {"type": "email", "host": "smtp.example.com", "security": security, "from": SENDER, "to": "a@b.c"}
    channel = build_channel("mail", spec, environ={})
    assert isinstance(channel, EmailChannel)
    assert channel.port == port
    assert channel.recipients == ["a@b.c"]


def test_build_channel_unknown_type() -> None:
    with pytest.raises(ConfigError, match=r"'pager'.*unknown type 'sms'"):
        build_channel("pager", {"type": "sms"})
    with pytest.raises(ConfigError, match="'type' is required"):
        build_channel("pager", {"url": "http://x"})


def test_build_channel_missing_webhook_env_var_is_named() -> None:
    with pytest.raises(ConfigError, match="SLACK_WEBHOOK_URL"):
        build_channel("slack", {"type": "webhook", "url_env": "SLACK_WEBHOOK_URL"}, environ={})


def test_build_channel_missing_smtp_password_is_named() -> None:
    spec = {
        "type": "email",
        "host": "smtp.example.com",
        "from": SENDER,
        "to": RECIPIENTS,
        "username_env": "SMTP_USER",
        "password_env": "SMTP_PASSWORD",
    }
    with pytest.raises(ConfigError, match="SMTP_PASSWORD") as info:
        build_channel("mail", spec, environ={"SMTP_USER": SMTP_USER})
    assert SMTP_USER not in str(info.value)


def test_build_channel_missing_header_env_var_is_named() -> None:
    spec = {"type": "webhook", "url_env": "HOOK_URL", "headers_env": {"Authorization": "HOOK_TOKEN"}}
    with pytest.raises(ConfigError, match="HOOK_TOKEN"):
        build_channel("hook", spec, environ={"HOOK_URL": "https://hooks.example.com" + HOOK_PATH})


def test_build_channel_bad_url_in_env_names_the_variable_not_the_value() -> None:
    env = {"HOOK_URL": "ftp://hooks.example.com" + HOOK_PATH}
    with pytest.raises(ConfigError, match="HOOK_URL") as info:
        build_channel("hook", {"type": "webhook", "url_env": "HOOK_URL"}, environ=env)
    assert_no_secrets(str(info.value))


def test_build_channel_rejects_literal_secrets_without_echoing_them() -> None:
    spec = {"type": "email", "host": "h", "from": SENDER, "to": RECIPIENTS, "password": SMTP_PASSWORD}
    with pytest.raises(ConfigError, match="password_env") as info:
        build_channel("mail", spec, environ={})
    assert_no_secrets(str(info.value))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"type": "email", "from": SENDER, "to": RECIPIENTS}, "'host' is required"),
        ({"type": "email", "host": "h", "from": SENDER, "to": []}, "'to' must be"),
        ({"type": "email", "host": "h", "from": SENDER, "to": RECIPIENTS, "port": "25"}, "'port'"),
        ({"type": "email", "host": "h", "from": SENDER, "to": RECIPIENTS, "security": "tls"}, "security"),
        (
            {"type": "email", "host": "h", "from": SENDER, "to": RECIPIENTS, "username_env": "U"},
            "set both or neither",
        ),
        ({"type": "webhook"}, "exactly one of url and url_env"),
        ({"type": "webhook", "url": "http://a", "url_env": "B"}, "exactly one of url and url_env"),
        ({"type": "webhook", "url": "http://a", "headers_env": ["X"]}, "'headers_env'"),
        ({"type": "webhook", "url": "http://a", "attempts": 0}, "attempts"),
    ],
)
def test_build_channel_bad_specs(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        build_channel("c", spec, environ={})


@pytest.mark.parametrize(
    ("url", "masked"),
    [
        ("https://hooks.slack.com/services/T0/B0/XYZ", "https://hooks.slack.com/***"),
        ("http://127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080/***"),
        ("https://user:pw@example.com/x", "https://example.com/***"),
        ("https://example.com", "https://example.com"),
        ("not a url", "<invalid url>"),
    ],
)
def test_mask_url(url: str, masked: str) -> None:
    assert mask_url(url) == masked


@pytest.mark.parametrize("key", ["", "a\nb", "a\rBcc: x", "tab\there", "nul\x00", "ls\u2028x"])
def test_notification_key_must_be_one_line_without_control_characters(key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        make_notification(key)


def test_non_ascii_key_travels_in_both_channels(start_smtp: StartSmtp, hook_server: HookServer) -> None:
    """A policy may name levels in any language; the key must still reach both kinds of receiver."""
    n = make_notification("CASE-42:notify:Priorit\u00e4t-1:0")
    hook_channel(hook_server, Sleeps()).send(n)
    [req] = hook_server.requests
    assert req.headers["Idempotency-Key"] == header_key(n.key) == "CASE-42:notify:Priorit%C3%A4t-1:0"
    assert json.loads(req.body)["casewarden"]["key"] == n.key
    server = start_smtp()
    email_channel(server.port, Sleeps()).send(n)
    [received] = server.handler.messages
    assert received.message["X-Casewarden-Key"] == n.key
