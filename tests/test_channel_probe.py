"""``doctor`` tests each notification channel with a dry request against the real thing, and delivers
nothing: a webhook gets a HEAD flagged as a test, an SMTP server a session of EHLO, STARTTLS, AUTH, NOOP,
RSET and QUIT without MAIL. An unreachable channel, a missing endpoint or refused credentials are not ok.
Servers are real: http.server, and aiosmtpd as in test_notify."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from casewarden.errors import NotifyError, RetriableNotifyError
from casewarden.sync.cli import EXIT_OK, EXIT_PROBLEMS, main
from casewarden.sync.notify import EmailChannel, WebhookChannel
from tests.test_cli import deployment, hook  # noqa: F401  (fixtures)
from tests.test_notify import (  # noqa: F401  (fixtures)
    SMTP_ENV,
    Authenticator,
    Sleeps,
    StartSmtp,
    ca,
    client_tls,
    email_channel,
    free_port,
    no_proxy,
    server_tls,
    start_smtp,
)

TOKEN = "Bearer probe-s3cret-token"


@dataclass
class Endpoint:
    url: str
    status: list[int] = field(default_factory=lambda: [405])
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)


@pytest.fixture
def endpoint() -> Iterator[Endpoint]:
    """A POST-only webhook endpoint: answers HEAD with ``status[0]`` and records every request."""
    state = Endpoint("")

    class Handler(BaseHTTPRequestHandler):
        def _answer(self, method: str) -> None:
            state.seen.append((method, dict(self.headers.items())))
            self.send_response(state.status[0] if method == "HEAD" else 200)
            if 300 <= state.status[0] <= 399:
                self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def do_HEAD(self) -> None:
            self._answer("HEAD")

        def do_POST(self) -> None:
            self._answer("POST")

        def log_message(self, *_a: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/secretpath"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def webhook(url: str, timeout: float = 5) -> WebhookChannel:
    return WebhookChannel(
        "hook",
        url_env="URL",
        headers_env={"Authorization": "TOKEN"},
        timeout=timeout,
        environ={"URL": url, "TOKEN": TOKEN},
    )


@pytest.mark.parametrize("status", [200, 204, 400, 405, 501])
def test_a_webhook_that_answers_is_reachable_and_gets_nothing_but_a_test_head(
    endpoint: Endpoint, status: int
) -> None:
    endpoint.status[0] = status
    detail = webhook(endpoint.url).probe()
    assert f"reachable: HTTP {status} to a test request" in detail
    [(method, headers)] = endpoint.seen
    assert method == "HEAD", "nothing is posted: nobody is notified"
    assert headers["X-Casewarden-Test"] == "true" and headers["Authorization"] == TOKEN
    assert "secretpath" not in detail


@pytest.mark.parametrize(
    ("status", "why"),
    [
        (401, "refuses our credentials"),
        (403, "refuses our credentials"),
        (404, "no such endpoint"),
        (410, "no such endpoint"),
        (302, "a redirect"),
        (429, "the endpoint is failing"),
        (503, "the endpoint is failing"),
    ],
)
def test_a_webhook_that_answers_badly_is_not_ok(endpoint: Endpoint, status: int, why: str) -> None:
    endpoint.status[0] = status
    with pytest.raises(NotifyError, match=why) as info:
        webhook(endpoint.url).probe()
    assert f"HTTP {status}" in str(info.value) and "secretpath" not in str(info.value)


def test_an_unreachable_webhook_is_not_ok() -> None:
    with pytest.raises(RetriableNotifyError, match="unreachable: the connection failed"):
        webhook(f"http://127.0.0.1:{free_port()}/hook/secretpath").probe()


def test_a_webhook_that_never_answers_is_not_ok() -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # the connection is taken by the kernel; nothing ever answers
    try:
        with pytest.raises(RetriableNotifyError, match=r"no answer within 0\.3 s"):
            webhook(f"http://127.0.0.1:{listener.getsockname()[1]}/hook", timeout=0.3).probe()
    finally:
        listener.close()


def test_smtp_probe_says_hello_and_sends_nothing(start_smtp: StartSmtp) -> None:  # noqa: F811
    server = start_smtp()
    detail = email_channel(server.port, Sleeps(), environ={}).probe()
    assert detail == f"127.0.0.1:{server.port} answered EHLO, NOOP, RSET (a test session: nothing was sent)"
    assert server.handler.messages == []


def test_smtp_probe_with_starttls_and_auth(
    start_smtp: StartSmtp,  # noqa: F811
    server_tls: ssl.SSLContext,  # noqa: F811
    client_tls: ssl.SSLContext,  # noqa: F811
) -> None:
    auth = Authenticator()
    server = start_smtp(tls_context=server_tls, require_starttls=True, authenticator=auth, auth_required=True)
    channel = email_channel(
        server.port,
        Sleeps(),
        security="starttls",
        ssl_context=client_tls,
        username_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
        environ=SMTP_ENV,
    )
    assert "answered EHLO, STARTTLS, AUTH, NOOP, RSET" in channel.probe()
    assert auth.mechanisms and server.handler.messages == []


def test_smtp_probe_with_a_wrong_password_fails_at_auth(start_smtp: StartSmtp) -> None:  # noqa: F811
    server = start_smtp(authenticator=Authenticator(), auth_require_tls=False)
    channel = email_channel(
        server.port,
        Sleeps(),
        username_env="SMTP_USER",
        password_env="SMTP_PASSWORD",
        environ={**SMTP_ENV, "SMTP_PASSWORD": "wrong-password"},
    )
    with pytest.raises(NotifyError, match="SMTP 535 at AUTH") as info:
        channel.probe()
    assert "wrong-password" not in str(info.value)


def test_smtp_probe_of_a_closed_port_fails_at_connect() -> None:
    channel: EmailChannel = email_channel(free_port(), Sleeps(), environ={})
    with pytest.raises(RetriableNotifyError, match="connection failed at connect"):
        channel.probe()


Deployment = tuple[Path, dict[str, str]]


def test_doctor_reports_an_unreachable_webhook_as_a_failure(deployment: Deployment) -> None:  # noqa: F811
    config, _env = deployment
    url = f"http://127.0.0.1:{free_port()}/hook/secret-token"
    result = CliRunner().invoke(main, ["doctor", "-c", str(config)], env={"CASEWARDEN_WEBHOOK_URL": url})
    assert result.exit_code == EXIT_PROBLEMS
    [line] = [line for line in result.stdout.splitlines() if "channel ops-webhook" in line]
    assert line.startswith("FAIL notifications: channel ops-webhook") and "unreachable" in line
    assert "secret-token" not in result.output


def test_doctor_reports_what_a_reachable_webhook_answered(
    deployment: Deployment,  # noqa: F811
    hook: tuple[str, list[dict[str, object]]],  # noqa: F811
) -> None:
    config, env = deployment
    CliRunner().invoke(main, ["bootstrap", "--apply", "-c", str(config)], env=env)
    result = CliRunner().invoke(main, ["doctor", "-c", str(config)], env=env)
    assert result.exit_code == EXIT_OK, result.output
    [line] = [line for line in result.stdout.splitlines() if "channel ops-webhook" in line]
    assert line.startswith("ok   notifications: channel ops-webhook - webhook: http://127.0.0.1:")
    assert "reachable: HTTP 501 to a test request (HEAD: nothing was sent)" in line
    assert hook[1] == [], "the test request delivered nothing"
