"""Web Push's cryptography against the RFCs: RFC 8291's own example reproduced byte for byte,
the VAPID token an ES256 JWT that verifies with the public key, the key made once and kept."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from dispatch.adapters.push_crypto import P256, b64url, b64url_decode, encrypt, public_point
from dispatch.adapters.vapid_keys import KEY_FILE, load_vapid_key, parse_private_key
from dispatch.config import Settings

# RFC 8291, Appendix A
PLAINTEXT = b"When I grow up, I want to be a watermelon"
AS_PRIVATE = "yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw"
UA_PUBLIC = (
    "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"
)
AUTH = "BTBZMqHH6r4Tts7J_aSIgg"
SALT = "DGv6ra1nlYgDCS1FRnbzlw"
BODY = (
    "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAm"
    "S6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_"
    "Qulcy4a-fN"
)


def test_the_encryption_reproduces_rfc_8291s_example() -> None:
    sender = parse_private_key(AS_PRIVATE)
    body = encrypt(
        PLAINTEXT,
        b64url_decode(UA_PUBLIC),
        b64url_decode(AUTH),
        salt=b64url_decode(SALT),
        sender=sender,
    )
    assert b64url(body) == BODY


def test_each_message_gets_a_fresh_salt_and_key() -> None:
    ua = public_point(ec.generate_private_key(P256))
    one, two = encrypt(b"x", ua, b"a" * 16), encrypt(b"x", ua, b"a" * 16)
    assert one[:16] != two[:16] and one[21:86] != two[21:86]


def test_a_message_too_long_for_one_record_is_refused() -> None:
    ua = public_point(ec.generate_private_key(P256))
    with pytest.raises(ValueError, match="at most"):
        encrypt(b"x" * 4080, ua, b"a" * 16)


def test_the_vapid_token_verifies_with_the_public_key(tmp_path: Path) -> None:
    key = load_vapid_key(Settings(data_dir=str(tmp_path)))
    now = datetime(2026, 7, 1, 8, 0, tzinfo=UTC)
    header = key.authorization("https://push.example.net:8443/wpush/v2/abc", now)
    token, k = header.removeprefix("vapid t=").split(", k=")
    assert k == key.public_key
    head, claims, signature = token.split(".")
    raw = b64url_decode(signature)
    der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
    public = ec.EllipticCurvePublicKey.from_encoded_point(P256, b64url_decode(k))
    public.verify(der, f"{head}.{claims}".encode(), ec.ECDSA(hashes.SHA256()))
    decoded = json.loads(b64url_decode(claims))
    assert decoded["aud"] == "https://push.example.net:8443"
    assert decoded["exp"] - now.timestamp() == 12 * 3600
    assert decoded["sub"].startswith("mailto:")
    assert key.authorization("https://push.example.net:8443/other", now) == header  # reused


def test_the_key_is_made_once_kept_private_and_read_back(tmp_path: Path) -> None:
    settings = Settings(data_dir=str(tmp_path / "data"))
    first, second = load_vapid_key(settings), load_vapid_key(settings)
    assert first.public_key == second.public_key
    kept = tmp_path / "data" / KEY_FILE
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert [p.name for p in kept.parent.iterdir()] == [KEY_FILE]


def test_a_configured_key_wins_over_the_file(tmp_path: Path) -> None:
    configured = Settings(data_dir=str(tmp_path), vapid_private_key=AS_PRIVATE)
    assert load_vapid_key(configured).public_key == (
        "BP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A8"
    )
    assert not (tmp_path / KEY_FILE).exists()
