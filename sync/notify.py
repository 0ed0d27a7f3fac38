"""Notification channels: tell people that a support case breached (or is about to breach) its SLA.

Two channel types cover what deployments use: SMTP e-mail and a JSON webhook (Slack-style incoming
webhooks accept it because the body carries ``text``). Both share three rules:

* **at-least-once, recognisably**: every notification carries an idempotency key (``case:action:
  level:epoch``) in a header and in the payload, and e-mail derives its Message-ID from it, so when a
  crash makes the engine send again the receiving side can tell it is a duplicate;
* **retry passing failures, never permanent ones**: waits and attempts come from
  :func:`casewarden.connectors.retrying.retrying`; what is passing comes from :func:`casewarden.errors.classify_status`
  (HTTP) or the SMTP reply class (4xx passing, 5xx permanent). When retries run out, or at once for a
  permanent failure, :class:`casewarden.errors.NotifyError` is raised;
* **bounded in time**: ``timeout`` bounds each attempt, and ``budget`` (a
  :class:`casewarden.connectors.base.CycleBudget` the engine starts before each send with what is left of
  the cycle's notification time) bounds the retries and shortens the last attempt's timeout, so one
  hanging endpoint cannot outlast the cycle's budget;
* **secrets stay secret**: SMTP passwords, webhook URLs (whose path *is* the credential for Slack) and
  header values come only from the environment, and never appear in exception messages, logs or
  reprs. Webhook URLs are shown as ``scheme://host/***``; response bodies are never quoted (they may
  echo customer data), only status codes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, parseaddr
from typing import Any, Literal, Protocol, cast
from urllib.parse import quote, urlsplit

import requests
import tenacity

from casewarden.connectors.base import CycleBudget
from casewarden.connectors.retrying import retrying
from casewarden.errors import (
    ConfigError,
    NotifyError,
    RetriableNotifyError,
    classify_status,
    retry_after_seconds,
)

__all__ = [
    "Channel",
    "EmailChannel",
    "Notification",
    "WebhookChannel",
    "build_channel",
    "header_key",
    "mask_url",
    "message_id_for",
    "render_text",
    "webhook_payload",
]

log = logging.getLogger("casewarden.notify")

Security = Literal["starttls", "ssl", "none"]
_SECURITY: tuple[str, ...] = ("starttls", "ssl", "none")
_DEFAULT_PORTS: dict[str, int] = {"starttls": 587, "ssl": 465, "none": 25}

# What an HTTP header value may hold verbatim; a key with anything else is percent-encoded there.
_HEADER_SAFE = "".join(chr(c) for c in range(0x20, 0x7F) if chr(c) != "%")
# RFC 9110 token: what an HTTP header name may be made of.
_HEADER_NAME_RE = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_DOMAIN_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?")


@dataclass(frozen=True)
class Notification:
    """One message to people about one case; the same for every channel it goes to."""

    key: str  # idempotency key (case:action:level:epoch), also put in a header / JSON field
    case_id: str
    case_url: str
    level: str
    target: str  # e.g. "first_response" or "escalation level 2"
    reason: str  # e.g. "S2 first response target breached at 2026-11-20T10:00:00+00:00"
    subject: str
    text: str

    def __post_init__(self) -> None:
        # The key goes into an SMTP and an HTTP header: a line break there would forge more headers.
        if not self.key or not self.key.isprintable():
            raise ValueError("notification key must be non-empty, on one line, without control characters")


class Channel(Protocol):
    """Where notifications go. ``send`` either delivers or raises NotifyError after its retries."""

    name: str

    def send(self, n: Notification) -> None: ...


# --------------------------------------------------------------------------------------------------
# Rendering: pure functions, shared by the channels and usable by tests and previews.


def _one_line(text: str) -> str:
    """Collapse line breaks: a subject or a chat summary must stay on one line."""
    return " ".join(text.split())


def render_text(n: Notification) -> str:
    """The plain-text e-mail body: the free text first, then the facts a responder needs to act."""
    facts = [
        f"Case:   {n.case_id}",
        f"Link:   {n.case_url}",
        f"Level:  {n.level}",
        f"Target: {n.target}",
        f"Reason: {n.reason}",
        "",
        f"casewarden key: {n.key}",
    ]
    body = n.text.rstrip()
    return (body + "\n\n" if body else "") + "\n".join(facts) + "\n"


def webhook_payload(n: Notification) -> dict[str, Any]:
    """The JSON body: ``text`` for chat tools that only read that, ``casewarden`` for programs."""
    # the subject already names the case, level and target; the reason says what happened
    summary = _one_line(f"{n.subject}: {n.reason} {n.case_url}")
    return {
        "text": summary,
        "casewarden": {
            "key": n.key,
            "case_id": n.case_id,
            "case_url": n.case_url,
            "level": n.level,
            "target": n.target,
            "reason": n.reason,
        },
    }


def message_id_for(key: str, sender: str) -> str:
    """A Message-ID that is a pure function of the idempotency key.

    A resent notification gets the same Message-ID, so mail clients, list servers and ticket
    mail-ins that de-duplicate on it drop the copy. The key is hashed because it may hold characters a
    Message-ID may not; the sender's domain keeps the ID globally unique across deployments.
    """
    domain = parseaddr(sender)[1].rpartition("@")[2]
    if not _DOMAIN_RE.fullmatch(domain):
        domain = "casewarden.invalid"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<casewarden.{digest}@{domain}>"


def mask_url(url: str) -> str:
    """``scheme://host[:port]/***``: enough to tell which endpoint failed, nothing that grants access.

    The path and query of an incoming-webhook URL are its credential, and userinfo is a password, so
    only scheme, host and port survive.
    """
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<invalid url>"
    if not parts.scheme or not host:
        return "<invalid url>"
    if ":" in host:
        host = f"[{host}]"
    shown = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    rest = url.split("://", 1)[-1]
    if "/" in rest or "?" in rest or "#" in rest or "@" in rest:
        shown += "/***"
    return shown


def header_key(key: str) -> str:
    """The key as an HTTP header value: verbatim when it is printable ASCII (the usual case), else
    percent-encoded, because HTTP header values are Latin-1 at best. The JSON body keeps it verbatim."""
    return key if all(ch in _HEADER_SAFE for ch in key) else quote(key, safe=_HEADER_SAFE)


def _redact(text: str, secrets: Iterable[str]) -> str:
    """Last line of defence: blank out any secret that found its way into a message anyway."""
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, "***")
    return text


def _env(environ: Mapping[str, str], var: str, *, what: str, channel: str) -> str:
    """The value of ``var``, or ConfigError naming the variable (never a value)."""
    value = environ.get(var)
    if value is None or value == "":
        raise ConfigError(
            f"notification channel {channel!r}: environment variable {var} ({what}) is not set or empty"
        )
    return value


def _retry_logger(kind: str, name: str, n: Notification) -> Callable[[tenacity.RetryCallState], None]:
    """A tenacity ``before_sleep`` hook logging the retry with our own (already masked) message."""

    def before_sleep(state: tenacity.RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        wait = state.next_action.sleep if state.next_action is not None else 0.0
        log.warning(
            "%s channel %r: attempt %d for %s failed (%s); retrying in %.2fs",
            kind,
            name,
            state.attempt_number,
            n.key,
            exc,
            wait,
        )

    return before_sleep


def _attempts_made(retry: tenacity.Retrying) -> int:
    return int(retry.statistics.get("attempt_number", 1))


# --------------------------------------------------------------------------------------------------
# E-mail


#: The shortest timeout an attempt gets when the budget is nearly spent: below it, nothing could answer.
MIN_TIMEOUT = 1.0


def _timeout(timeout: float, budget: CycleBudget) -> float:
    """The channel's timeout, cut to what the budget has left (never below :data:`MIN_TIMEOUT`)."""
    return max(min(timeout, budget.remaining()), min(timeout, MIN_TIMEOUT))


def _deliver(
    kind: str,
    name: str,
    n: Notification,
    attempts: int,
    sleep: Callable[[float], None],
    secrets: list[str],
    once: Callable[..., None],
    *args: Any,
    deadline: float | None = None,
) -> int:
    """Run one delivery attempt under the shared retry policy, never sleeping past ``deadline`` (a
    ``time.monotonic`` instant); when the attempts run out, raise NotifyError with the channel's secrets
    redacted. Returns the number of attempts made."""
    retry = retrying(attempts=attempts, sleep=sleep, deadline=deadline).copy(
        before_sleep=_retry_logger(kind, name, n)
    )
    try:
        retry(once, *args)
    except RetriableNotifyError as exc:
        raise NotifyError(_redact(f"{exc} (after {_attempts_made(retry)} attempts)", secrets)) from exc
    return _attempts_made(retry)


class EmailChannel:
    """Sends each notification as one plain-text e-mail over SMTP.

    ``security`` is ``starttls`` (upgrade a plain connection, refuse to go on if the server does not
    offer it: no silent downgrade), ``ssl`` (implicit TLS, usually port 465) or ``none`` (trusted relay
    only). Credentials are read from the environment once, at construction, so a missing variable is a
    configuration error at start-up rather than a failed notification at 3 a.m.
    """

    def __init__(
        self,
        name: str,
        *,
        host: str,
        port: int,
        security: Security = "starttls",
        sender: str,
        recipients: list[str],
        username_env: str | None = None,
        password_env: str | None = None,
        timeout: float = 10,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        ssl_context: ssl.SSLContext | None = None,
        environ: Mapping[str, str] | None = None,
        local_hostname: str | None = None,
    ) -> None:
        where = f"notification channel {name!r}"
        if security not in _SECURITY:
            raise ConfigError(f"{where}: security must be one of {', '.join(_SECURITY)}, got {security!r}")
        if not host:
            raise ConfigError(f"{where}: host is empty")
        if not 0 < port < 65536:
            raise ConfigError(f"{where}: port must be 1..65535, got {port}")
        if not recipients:
            raise ConfigError(f"{where}: no recipients")
        if (username_env is None) != (password_env is None):
            raise ConfigError(f"{where}: username_env and password_env go together; set both or neither")
        if attempts < 1:
            raise ConfigError(f"{where}: attempts must be at least 1")
        env = os.environ if environ is None else environ
        self.name = name
        self.host = host
        self.port = port
        self.security: Security = security
        self.sender = sender
        self.recipients = list(recipients)
        self.timeout = timeout
        self.attempts = attempts
        self.local_hostname = local_hostname
        self.budget = CycleBudget()  # started by the engine before each send
        self._sleep = sleep
        self._username: str | None = None
        self._password: str | None = None
        if username_env is not None and password_env is not None:
            self._username = _env(env, username_env, what="SMTP user name", channel=name)
            self._password = _env(env, password_env, what="SMTP password", channel=name)
            if security == "none":
                log.warning(
                    "email channel %r: credentials will be sent to %s:%d without TLS", name, host, port
                )
        self._ssl_context: ssl.SSLContext | None = None
        if security != "none":
            self._ssl_context = ssl_context if ssl_context is not None else ssl.create_default_context()

    def __repr__(self) -> str:
        auth = ", auth" if self._username is not None else ""
        return (
            f"EmailChannel({self.name!r}, {self.host}:{self.port}, {self.security}{auth}, "
            f"{len(self.recipients)} recipient(s))"
        )

    @property
    def _where(self) -> str:
        return f"email channel {self.name!r} ({self.host}:{self.port})"

    def _secrets(self) -> list[str]:
        return [s for s in (self._password,) if s]

    def build_message(self, n: Notification) -> EmailMessage:
        """The e-mail for ``n``; separate from sending so it can be previewed and tested."""
        msg = EmailMessage()
        msg["Subject"] = _one_line(n.subject)
        msg["From"] = self.sender
        msg["To"] = ", ".join(self.recipients)
        msg["Date"] = formatdate(usegmt=True)
        msg["Message-ID"] = message_id_for(n.key, self.sender)
        msg["X-Casewarden-Key"] = n.key
        msg.set_content(render_text(n))
        return msg

    def send(self, n: Notification) -> None:
        """Deliver ``n``; retry 4xx replies and dropped connections, fail at once on 5xx."""
        msg = self.build_message(n)
        attempts = _deliver(
            "email",
            self.name,
            n,
            self.attempts,
            self._sleep,
            self._secrets(),
            self._deliver_once,
            msg,
            deadline=self.budget.deadline(),
        )
        log.info(
            "email channel %r: delivered %s (case %s, level %s) to %d recipient(s) in %d attempt(s)",
            self.name,
            n.key,
            n.case_id,
            n.level,
            len(self.recipients),
            attempts,
        )

    def _connect(self) -> smtplib.SMTP:
        if self.security == "ssl":
            return smtplib.SMTP_SSL(
                self.host,
                self.port,
                local_hostname=self.local_hostname,
                timeout=_timeout(self.timeout, self.budget),
                context=self._ssl_context,
            )
        return smtplib.SMTP(
            self.host,
            self.port,
            local_hostname=self.local_hostname,
            timeout=_timeout(self.timeout, self.budget),
        )

    def _deliver_once(self, msg: EmailMessage) -> None:
        """One SMTP session. Raises RetriableNotifyError (passing) or NotifyError (permanent)."""
        smtp: smtplib.SMTP | None = None
        stage = "connect"
        delivered = False
        try:
            smtp = self._connect()
            if self.security == "starttls":
                stage = "STARTTLS"
                smtp.starttls(context=self._ssl_context)
            if self._username is not None and self._password is not None:
                stage = "AUTH"
                smtp.login(self._username, self._password)
            stage = "send"
            refused = smtp.send_message(msg)
            delivered = True
        except (smtplib.SMTPException, OSError) as exc:
            raise self._classify(exc, stage) from exc
        finally:
            if smtp is not None:
                _close_quietly(smtp, polite=delivered)
        if refused:
            log.warning(
                "email channel %r: %d of %d recipient(s) refused: %s",
                self.name,
                len(refused),
                len(self.recipients),
                ", ".join(f"{addr} ({code})" for addr, (code, _) in sorted(refused.items())),
            )

    def _classify(self, exc: BaseException, stage: str) -> Exception:
        """Turn an smtplib/socket failure into a retriable or a permanent error, quoting no reply text.

        Reply texts are left out on purpose: they can echo addresses or, from some servers, the AUTH
        exchange; the code and the stage say what went wrong.
        """
        where = self._where
        if isinstance(exc, smtplib.SMTPRecipientsRefused):
            codes = sorted({code for code, _ in exc.recipients.values()})
            shown = ", ".join(str(c) for c in codes)
            if codes and all(400 <= c <= 499 for c in codes):
                return RetriableNotifyError(f"{where}: recipients refused for now (SMTP {shown} at RCPT)")
            return NotifyError(f"{where}: recipients refused (SMTP {shown} at RCPT), not retried")
        if isinstance(exc, smtplib.SMTPResponseException):
            code = exc.smtp_code
            if isinstance(exc, smtplib.SMTPSenderRefused):
                stage = "MAIL FROM"
            elif isinstance(exc, smtplib.SMTPDataError):
                stage = "DATA"
            if 400 <= code <= 499:
                return RetriableNotifyError(f"{where}: temporary failure (SMTP {code} at {stage})")
            return NotifyError(f"{where}: permanent failure (SMTP {code} at {stage}), not retried")
        if isinstance(exc, smtplib.SMTPServerDisconnected):
            return RetriableNotifyError(f"{where}: server disconnected at {stage}")
        if isinstance(exc, smtplib.SMTPNotSupportedError):
            offer = {"STARTTLS": "STARTTLS", "AUTH": "AUTH"}.get(stage, "a required extension")
            return NotifyError(f"{where}: server does not offer {offer}, not retried")
        if isinstance(exc, smtplib.SMTPException):
            return NotifyError(f"{where}: SMTP failure at {stage} ({type(exc).__name__}), not retried")
        if isinstance(exc, ssl.SSLCertVerificationError):
            return NotifyError(
                f"{where}: TLS certificate not trusted ({exc.verify_message or exc.reason}), not retried"
            )
        if isinstance(exc, ssl.SSLEOFError | ssl.SSLZeroReturnError):
            return RetriableNotifyError(f"{where}: TLS connection dropped at {stage}")
        if isinstance(exc, ssl.SSLError):
            return NotifyError(f"{where}: TLS failure at {stage} ({exc.reason}), not retried")
        return RetriableNotifyError(f"{where}: connection failed at {stage} ({type(exc).__name__})")


def _close_quietly(smtp: smtplib.SMTP, *, polite: bool) -> None:
    """End the session without letting a failed QUIT turn a delivered message into a retry (duplicate).

    After a failure the connection may be half dead, so it is only closed, not QUIT, to avoid waiting
    out a timeout.
    """
    if polite:
        try:
            smtp.quit()
            return
        except (smtplib.SMTPException, OSError):
            pass
    smtp.close()


# --------------------------------------------------------------------------------------------------
# Webhook


class WebhookChannel:
    """POSTs each notification as JSON to a URL (Slack, Teams via a relay, an in-house endpoint).

    The URL and any extra header values (``headers_env``: header name -> environment variable) are read
    from the environment at construction. Redirects are not followed: a POST silently turned into a GET
    would look delivered while nothing arrived.
    """

    def __init__(
        self,
        name: str,
        *,
        url: str | None = None,
        url_env: str | None = None,
        headers_env: Mapping[str, str] | None = None,
        timeout: float = 10,
        attempts: int = 4,
        sleep: Callable[[float], None] = time.sleep,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        where = f"notification channel {name!r}"
        env = os.environ if environ is None else environ
        if (url is None) == (url_env is None):
            raise ConfigError(f"{where}: give exactly one of url and url_env")
        if url_env is not None:
            url = _env(env, url_env, what="webhook URL", channel=name)
        assert url is not None
        try:
            parts = urlsplit(url)
            host = parts.hostname
        except ValueError:
            host = None
            parts = None
        source = f"the URL in {url_env}" if url_env else "url"
        if parts is None or parts.scheme not in ("http", "https") or not host:
            raise ConfigError(f"{where}: {source} is not an http(s) URL with a host")
        if attempts < 1:
            raise ConfigError(f"{where}: attempts must be at least 1")
        headers: dict[str, str] = {}
        for header, var in (headers_env or {}).items():
            if not _HEADER_NAME_RE.fullmatch(header):
                raise ConfigError(f"{where}: {header!r} is not a valid HTTP header name")
            value = _env(env, var, what=f"value of header {header}", channel=name)
            if "\r" in value or "\n" in value:
                raise ConfigError(f"{where}: environment variable {var} holds a line break")
            headers[header] = value
        self.name = name
        self.timeout = timeout
        self.attempts = attempts
        self.budget = CycleBudget()  # started by the engine before each send
        self._sleep = sleep
        self._url = url
        self._headers = headers
        self.masked_url = mask_url(url)

    def __repr__(self) -> str:
        extra = f", headers {sorted(self._headers)}" if self._headers else ""
        return f"WebhookChannel({self.name!r}, {self.masked_url}{extra})"

    @property
    def _where(self) -> str:
        return f"webhook channel {self.name!r} ({self.masked_url})"

    def _secrets(self) -> list[str]:
        parts = urlsplit(self._url)
        return [self._url, parts.path, parts.query, *self._headers.values()]

    def send(self, n: Notification) -> None:
        """Deliver ``n``; retry 429/5xx (honouring Retry-After) and dropped connections."""
        body = json.dumps(webhook_payload(n), ensure_ascii=False).encode("utf-8")
        headers = {
            **self._headers,
            "Content-Type": "application/json; charset=utf-8",
            "Idempotency-Key": header_key(n.key),
            "User-Agent": "casewarden",
        }
        with requests.Session() as session:
            attempts = _deliver(
                "webhook",
                self.name,
                n,
                self.attempts,
                self._sleep,
                self._secrets(),
                self._post_once,
                session,
                body,
                headers,
                deadline=self.budget.deadline(),
            )
        log.info(
            "webhook channel %r: delivered %s (case %s, level %s) to %s in %d attempt(s)",
            self.name,
            n.key,
            n.case_id,
            n.level,
            self.masked_url,
            attempts,
        )

    def _post_once(self, session: requests.Session, body: bytes, headers: Mapping[str, str]) -> None:
        """One POST. ``requests`` exceptions are re-raised as our own *without* chaining, because their
        messages contain the full URL."""
        where = self._where
        try:
            response = session.post(
                self._url,
                data=body,
                headers=dict(headers),
                timeout=_timeout(self.timeout, self.budget),
                allow_redirects=False,
            )
        except requests.exceptions.SSLError:
            raise NotifyError(f"{where}: TLS failure, not retried") from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise RetriableNotifyError(f"{where}: {type(exc).__name__}") from None
        except requests.RequestException as exc:
            raise NotifyError(f"{where}: request failed ({type(exc).__name__}), not retried") from None
        with response:
            status = response.status_code
            verdict = classify_status(status)
            if verdict == "ok":
                return
            if verdict == "retry":
                wait = retry_after_seconds(response.headers.get("Retry-After"), now=datetime.now(UTC))
                raise RetriableNotifyError(f"{where}: HTTP {status}", retry_after=wait)
            kind = "refused the notification" if verdict == "skip" else "rejected the request"
            raise NotifyError(f"{where}: HTTP {status}, endpoint {kind}, not retried")


# --------------------------------------------------------------------------------------------------
# From the deployment file

_COMMON_KEYS = frozenset({"type", "timeout", "attempts"})
_EMAIL_KEYS = _COMMON_KEYS | {
    "host",
    "port",
    "security",
    "from",
    "to",
    "username_env",
    "password_env",
    "ca_file",
}
_WEBHOOK_KEYS = _COMMON_KEYS | {"url", "url_env", "headers_env"}
#: The keys each channel type takes, for the checks at load (``deployment_checks``).
CHANNEL_KEYS: dict[str, frozenset[str]] = {"email": _EMAIL_KEYS, "webhook": _WEBHOOK_KEYS}
_SECRET_HINTS = {
    "password": "password_env",
    "username": "username_env",
    "user": "username_env",
    "headers": "headers_env",
    "token": "headers_env",
    "secret": "headers_env",
}


class _Spec:
    """Typed reads from one channel entry, every failure a ConfigError naming the channel and the key."""

    def __init__(self, name: str, spec: Mapping[str, Any]) -> None:
        self.name = name
        self.spec = spec

    def error(self, message: str) -> ConfigError:
        return ConfigError(f"notification channel {self.name!r}: {message}")

    def check_keys(self, allowed: frozenset[str]) -> None:
        unknown = sorted(str(k) for k in self.spec if k not in allowed)
        if not unknown:
            return
        hints = [f"use {_SECRET_HINTS[k]}" for k in unknown if k in _SECRET_HINTS]
        hint = f" (secrets come from the environment: {'; '.join(hints)})" if hints else ""
        raise self.error(
            f"unknown key(s) {', '.join(unknown)} for type {self.spec.get('type')!r}; "
            f"allowed: {', '.join(sorted(allowed))}{hint}"
        )

    def str_(self, key: str, *, required: bool = False) -> str | None:
        value = self.spec.get(key)
        if value is None:
            if required:
                raise self.error(f"{key!r} is required")
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.error(f"{key!r} must be a non-empty string")
        return value.strip()

    def int_(self, key: str, default: int) -> int:
        value = self.spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(f"{key!r} must be an integer")
        return value

    def float_(self, key: str, default: float) -> float:
        value = self.spec.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
            raise self.error(f"{key!r} must be a positive number")
        return float(value)

    def str_list(self, key: str) -> list[str]:
        value = self.spec.get(key)
        if isinstance(value, str):
            value = [value]
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, str) and v.strip() for v in value)
        ):
            raise self.error(f"{key!r} must be a non-empty list of addresses")
        return [v.strip() for v in value]

    def str_map(self, key: str) -> dict[str, str] | None:
        value = self.spec.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping) or not all(
            isinstance(k, str) and isinstance(v, str) and v for k, v in value.items()
        ):
            raise self.error(f"{key!r} must map header names to environment variable names")
        return dict(value)


def build_channel(name: str, spec: Mapping[str, Any], *, environ: Mapping[str, str] | None = None) -> Channel:
    """Build a channel from its deployment-file entry, reading its secrets from ``environ``.

    Everything that can be checked before the first breach is checked here (types, unknown keys,
    missing environment variables), so a bad deployment fails at start-up with a message naming the
    key or variable, never its value.
    """
    s = _Spec(name, spec)
    if not isinstance(spec, Mapping):
        raise s.error("entry must be a mapping")
    kind = spec.get("type")
    if kind == "email":
        s.check_keys(_EMAIL_KEYS)
        security = s.str_("security") or "starttls"
        if security not in _SECURITY:
            raise s.error(f"'security' must be one of {', '.join(_SECURITY)}, got {security!r}")
        ssl_context: ssl.SSLContext | None = None
        ca_file = s.str_("ca_file")
        if ca_file is not None:
            try:
                ssl_context = ssl.create_default_context(cafile=ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise s.error(f"cannot load 'ca_file' {ca_file}: {type(exc).__name__}") from None
        return EmailChannel(
            name,
            host=cast(str, s.str_("host", required=True)),
            port=s.int_("port", _DEFAULT_PORTS[security]),
            security=cast(Security, security),
            sender=cast(str, s.str_("from", required=True)),
            recipients=s.str_list("to"),
            username_env=s.str_("username_env"),
            password_env=s.str_("password_env"),
            timeout=s.float_("timeout", 10.0),
            attempts=s.int_("attempts", 4),
            ssl_context=ssl_context,
            environ=environ,
        )
    if kind == "webhook":
        s.check_keys(_WEBHOOK_KEYS)
        return WebhookChannel(
            name,
            url=s.str_("url"),
            url_env=s.str_("url_env"),
            headers_env=s.str_map("headers_env"),
            timeout=s.float_("timeout", 10.0),
            attempts=s.int_("attempts", 4),
            environ=environ,
        )
    if kind is None:
        raise s.error("'type' is required (email or webhook)")
    raise s.error(f"unknown type {kind!r}; expected email or webhook")
