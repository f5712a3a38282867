"""Secrets at rest: AES-256-GCM with versioned, key-identified ciphertexts.

Keys come from ``FLIGHTDECK_ENCRYPTION_KEYS``: comma-separated ``<key id>:<base64 32 bytes>``,
the first one encrypts, all of them decrypt. Rotation: put a new key first, run
``manage.py rotate_keys`` (re-encrypts everything with it), then drop the old key. Without
the variable a key is generated once into ``$FLIGHTDECK_HOME/encryption_keys`` (mode 0600) so
``make run`` needs no set-up; production sets the variable (docker-compose requires it).

Format: ``v1:<key id>:<base64(nonce || ciphertext+tag)>``. The ``purpose`` (e.g. the column) is
authenticated as associated data, so a ciphertext copied into another column does not decrypt.
Lessons from DevLake (ECOSYSTEM.md §C5): versioned format from day one, random nonces, a key id
in each value, and no silent key generation when a database already holds secrets.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from functools import cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

FORMAT_VERSION = "v1"
NONCE_BYTES = 12


class SecretError(Exception):
    """A stored secret cannot be read (unknown key id, tampered or truncated value)."""


def _parse_keys(raw: str) -> list[tuple[str, bytes]]:
    keys = []
    for entry in (part.strip() for part in raw.split(",")):
        if not entry:
            continue
        key_id, _, encoded = entry.partition(":")
        try:
            key = base64.b64decode(encoded, validate=True)
        except binascii.Error:
            key = b""
        if not key_id.isalnum() or len(key) != 32:
            raise ImproperlyConfigured(
                "FLIGHTDECK_ENCRYPTION_KEYS entries must be <key id>:<base64 of 32 bytes>, "
                f"e.g. k1:{base64.b64encode(b'0' * 32).decode()}; got one for {key_id!r}"
            )
        keys.append((key_id, key))
    if not keys:
        raise ImproperlyConfigured("FLIGHTDECK_ENCRYPTION_KEYS holds no key")
    return keys


def new_key_entry(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


@cache
def _keys() -> tuple[tuple[str, bytes], ...]:
    raw = os.environ.get("FLIGHTDECK_ENCRYPTION_KEYS", "").strip()
    if not raw:
        path = settings.FLIGHTDECK_HOME / "encryption_keys"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(new_key_entry("k1"))
            path.chmod(0o600)
        raw = path.read_text().strip()
    return tuple(_parse_keys(raw))


def reset_key_cache() -> None:
    """For rotation and tests: read the keys again."""
    _keys.cache_clear()


def current_key_id() -> str:
    return _keys()[0][0]


def key_ids() -> list[str]:
    """The configured key ids, the current one first."""
    return [key_id for key_id, _ in _keys()]


def encrypt(plaintext: str, *, purpose: str) -> str:
    """Encrypt with the current key. The empty string stays empty (no secret set)."""
    if plaintext == "":
        return ""
    key_id, key = _keys()[0]
    nonce = secrets.token_bytes(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), purpose.encode())
    return f"{FORMAT_VERSION}:{key_id}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(ciphertext: str, *, purpose: str) -> str:
    if ciphertext == "":
        return ""
    version, _, rest = ciphertext.partition(":")
    key_id, _, body = rest.partition(":")
    if version != FORMAT_VERSION:
        raise SecretError(f"unknown secret format {version!r}")
    key = dict(_keys()).get(key_id)
    if key is None:
        raise SecretError(f"secret was encrypted with key {key_id!r}, which is not configured")
    try:
        raw = base64.b64decode(body, validate=True)
        return AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], purpose.encode()).decode()
    except (binascii.Error, InvalidTag, ValueError) as error:
        raise SecretError("secret is damaged or belongs to another field") from error


def key_id_of(ciphertext: str) -> str | None:
    return ciphertext.split(":")[1] if ciphertext.count(":") >= 2 else None
