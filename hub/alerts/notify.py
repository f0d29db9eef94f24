"""The channels an alert goes out on: e-mail (SMTP) and a webhook (JSON POST, so a Telegram
or WhatsApp gateway can be plugged in). A send either succeeds or raises ChannelError; the
caller records which channels have it and tries the others again later."""

from __future__ import annotations

import hashlib
import hmac
import json
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx

from hub.config import AlertSettings


class ChannelError(RuntimeError):
    pass


@dataclass
class Message:
    event: str  # problem | recovery | digest | test
    subject: str
    body: str
    data: dict[str, Any]


def channels(a: AlertSettings) -> list[str]:
    out = []
    if a.smtp_host and a.mail_to.strip():
        out.append("mail")
    if a.webhook_url:
        out.append("webhook")
    return out


def send(channel: str, a: AlertSettings, m: Message) -> None:
    (send_mail if channel == "mail" else send_webhook)(a, m)


def send_mail(a: AlertSettings, m: Message) -> None:
    msg = EmailMessage()
    msg["From"] = a.mail_from
    msg["To"] = ", ".join(x.strip() for x in a.mail_to.split(",") if x.strip())
    msg["Subject"] = m.subject
    msg.set_content(m.body)
    try:
        if a.smtp_ssl:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(a.smtp_host, a.smtp_port, timeout=15,
                                                  context=ssl.create_default_context())
        else:
            smtp = smtplib.SMTP(a.smtp_host, a.smtp_port, timeout=15)
        with smtp:
            if a.smtp_starttls and not a.smtp_ssl and smtp.has_extn("starttls"):
                smtp.starttls(context=ssl.create_default_context())
            if a.smtp_username:
                smtp.login(a.smtp_username, a.smtp_password)
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        raise ChannelError(f"SMTP {a.smtp_host}:{a.smtp_port}: {exc.__class__.__name__}: {exc}") from exc


def send_webhook(a: AlertSettings, m: Message) -> None:
    body = json.dumps({"event": m.event, "subject": m.subject, "text": m.body, **m.data},
                      ensure_ascii=False, default=str).encode()
    headers = {"Content-Type": "application/json"}
    if a.webhook_secret:
        sig = hmac.new(a.webhook_secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Hub-Signature-256"] = f"sha256={sig}"
    try:
        r = httpx.post(a.webhook_url, content=body, headers=headers, timeout=15)
    except httpx.HTTPError as exc:
        raise ChannelError(f"webhook: {exc.__class__.__name__}: {exc}") from exc
    if not 200 <= r.status_code < 300:
        raise ChannelError(f"webhook: HTTP {r.status_code} {r.text[:200]}")
