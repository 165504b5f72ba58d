"""The VAPID key everycall signs its pushes with: from the settings (EVERYCALL_VAPID_PRIVATE_KEY)
or made once and kept in the data directory, so that every process (the API that hands the
public key to browsers, the notifier that signs) and every restart uses the same one."""

from __future__ import annotations

import contextlib
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from dispatch.adapters.push_crypto import P256, audience, b64url, b64url_decode, public_point
from dispatch.adapters.push_crypto import vapid_token as sign_token
from dispatch.config import Settings

KEY_FILE = "vapid-private-key.pem"
TOKEN_LIFETIME = timedelta(hours=12)  # RFC 8292 allows up to 24 h
TOKEN_RENEW_BEFORE = timedelta(hours=1)


@dataclass
class VapidKey:
    """The signing key and the tokens made with it, one per push service, reused until near
    their expiry (signing each push would cost a signature each)."""

    private: ec.EllipticCurvePrivateKey
    subject: str
    _tokens: dict[str, tuple[str, datetime]] = field(default_factory=dict)

    @property
    def public_key(self) -> str:
        """What a browser's `pushManager.subscribe` takes as `applicationServerKey`."""
        return b64url(public_point(self.private))

    def authorization(self, endpoint: str, now: datetime) -> str:
        """The Authorization header of a push to `endpoint` (RFC 8292 §3)."""
        aud = audience(endpoint)
        token, expires = self._tokens.get(aud, ("", now))
        if expires - now < TOKEN_RENEW_BEFORE:
            expires = now + TOKEN_LIFETIME
            token = sign_token(self.private, aud, expires, self.subject)
            self._tokens[aud] = (token, expires)
        return f"vapid t={token}, k={self.public_key}"


def load_vapid_key(settings: Settings) -> VapidKey:
    """The configured key, else the data directory's, made there on first use."""
    configured = settings.vapid_private_key
    if configured is not None:
        return VapidKey(parse_private_key(configured.get_secret_value()), settings.vapid_subject)
    return VapidKey(_kept_key(Path(settings.data_dir) / KEY_FILE), settings.vapid_subject)


def parse_private_key(text: str) -> ec.EllipticCurvePrivateKey:
    """PEM, or base64url of the raw 32-byte scalar (what `web-push generate-vapid-keys` and
    most VAPID tools print)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != P256.name:
            raise ValueError("the VAPID key must be a P-256 (prime256v1) key")
        return key
    raw = b64url_decode(text)
    if len(raw) != 32:
        raise ValueError("a raw VAPID private key is 32 bytes, base64url")
    return ec.derive_private_key(int.from_bytes(raw, "big"), P256)


def _kept_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The key in `path`, or a new one written there. Two processes starting at once: the
    first link wins, the other reads the winner's key."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = ec.generate_private_key(P256).private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        draft = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(pem)
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    return parse_private_key(path.read_text())
