"""Secrets and signatures, by the `standardwebhooks` library: any of its verifiers (Python,
TypeScript, Go...) accepts what is signed here."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks import Webhook

SECRET_PREFIX = "whsec_"
# The specification asks for 24 to 64 random bytes; 32 is HMAC-SHA256's own size.
SECRET_BYTES = 32


def new_secret() -> str:
    """A signing secret as the specification writes it: `whsec_` and base64 of random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def signed_headers(secret: str, *, message_id: str, body: str, at: dt.datetime) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` for `body` sent at `at`.

    `at` is the wall clock's time: receivers refuse a timestamp more than five minutes from
    theirs."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Webhook(secret).sign(message_id, at, body),
    }
