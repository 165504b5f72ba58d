"""Web Push's cryptography on `cryptography`: the message encryption of RFC 8291 (aes128gcm,
RFC 8188, one record) and the VAPID token of RFC 8292 (an ES256 JWT), with the key encodings
browsers use (base64url without padding, uncompressed P-256 points)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from datetime import datetime
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

RECORD_SIZE = 4096
LAST_RECORD = b"\x02"  # RFC 8188: the padding delimiter of the last (here the only) record
P256 = ec.SECP256R1()


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def b64url_decode(text: str) -> bytes:
    """base64url with or without padding; ValueError for anything else."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as error:
        raise ValueError("not base64url") from error


def public_point(key: ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey) -> bytes:
    """The uncompressed point (65 bytes, 0x04 first), as browsers give and take keys."""
    public = key.public_key() if isinstance(key, ec.EllipticCurvePrivateKey) else key
    return public.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def parse_public_point(raw: bytes) -> ec.EllipticCurvePublicKey:
    """A P-256 public key from its uncompressed point; ValueError if it is not one."""
    if len(raw) != 65 or raw[0] != 4:
        raise ValueError("a P-256 public key is 65 bytes, uncompressed (0x04 first)")
    return ec.EllipticCurvePublicKey.from_encoded_point(P256, raw)


def _hmac(key: bytes, data: bytes) -> bytes:
    return hmac.new(key, data, hashlib.sha256).digest()


def encrypt(
    plaintext: bytes,
    ua_public: bytes,
    auth_secret: bytes,
    *,
    salt: bytes | None = None,
    sender: ec.EllipticCurvePrivateKey | None = None,
) -> bytes:
    """The push message body for a subscription (its p256dh point and auth secret). `salt`
    and `sender` (the ephemeral key) are fresh unless given, as RFC 8291's example gives them."""
    salt = os.urandom(16) if salt is None else salt
    sender = ec.generate_private_key(P256) if sender is None else sender
    as_public = public_point(sender)
    shared = sender.exchange(ec.ECDH(), parse_public_point(ua_public))
    # RFC 8291 §3.4: the auth secret and both public keys go into the input key material
    key_info = b"WebPush: info\x00" + ua_public + as_public
    ikm = _hmac(_hmac(auth_secret, shared), key_info + b"\x01")
    prk = _hmac(salt, ikm)
    cek = _hmac(prk, b"Content-Encoding: aes128gcm\x00\x01")[:16]
    nonce = _hmac(prk, b"Content-Encoding: nonce\x00\x01")[:12]
    if len(plaintext) + len(LAST_RECORD) + 16 > RECORD_SIZE:
        raise ValueError(f"a push message holds at most {RECORD_SIZE - 17} bytes")
    ciphertext = AESGCM(cek).encrypt(nonce, plaintext + LAST_RECORD, None)
    header = salt + RECORD_SIZE.to_bytes(4, "big") + bytes([len(as_public)]) + as_public
    return header + ciphertext


def audience(endpoint: str) -> str:
    """The origin of a push endpoint: the `aud` of its VAPID token."""
    parts = urlsplit(endpoint)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def vapid_token(key: ec.EllipticCurvePrivateKey, aud: str, expires: datetime, subject: str) -> str:
    """RFC 8292's JWT: ES256 over the push service's origin, an expiry and our contact."""
    header = b64url(json.dumps({"typ": "JWT", "alg": "ES256"}, separators=(",", ":")).encode())
    claims = {"aud": aud, "exp": int(expires.timestamp()), "sub": subject}
    body = b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{header}.{body}".encode()
    r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return f"{header}.{body}.{b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"
