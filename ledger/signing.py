"""Signed commands: who appended what is proven by a key, not by a name typed into --by.

A recorder holds an Ed25519 private key (``new_key``). Every command it writes with that key
carries one signature, stored beside the chain in the same transaction as its events
(``ledger_signatures``: first and last position, key id, signature), over

    message = f"results-ledger signature v1|{first}|{last}|{hash(last)}"

``hash(last)`` is the chain hash of the command's last event (docs/integrity.md), which
commits to every event up to it, so the signature proves that the holder of the key appended
events ``first`` to ``last`` on top of exactly that history. Anyone can compute a valid hash
link; only the key's holder can sign. ``check`` compares the signatures with a keyring of
public keys and says which events are unsigned, signed by unknown keys, or badly signed.

A key id is the first 16 hex digits of SHA-256 over the raw 32-byte public key. A keyring is
a text file, one key a line: ``NAME ed25519:BASE64`` (the raw public key), ``#`` comments.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from ledger.errors import InputError, MissingExtraError

SIGNATURES_TABLE = "ledger_signatures"
PREFIX = "ed25519:"


def _ed25519() -> Any:
    try:
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:  # pragma: no cover - a dependency
        raise MissingExtraError("signing needs the cryptography package") from None
    return ed25519


def message(first: int, last: int, chain_hash: str) -> bytes:
    """The bytes a command's signature is over."""
    return f"results-ledger signature v1|{first}|{last}|{chain_hash}".encode()


def key_id(public: bytes) -> str:
    """A public key's id: 16 hex digits of SHA-256 over its 32 raw bytes."""
    return hashlib.sha256(public).hexdigest()[:16]


class SigningKey:
    """An Ed25519 private key, loaded from the PEM file ``new_key`` writes."""

    def __init__(self, private: Any) -> None:
        self._private = private
        from cryptography.hazmat.primitives import serialization

        self.public = private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id(self.public)

    @classmethod
    def load(cls, path: Path) -> SigningKey:
        """The key in a file, or an InputError saying why it is not one."""
        ed25519 = _ed25519()
        from cryptography.hazmat.primitives import serialization

        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise InputError(f"--key {path}: no such file") from None
        except OSError as e:
            raise InputError(f"--key {path}: cannot be read ({e.strerror})") from None
        try:
            private = serialization.load_pem_private_key(data, password=None)
        except (ValueError, TypeError):
            raise InputError(
                f"--key {path}: not an unencrypted PEM private key (`ledger keys new` makes one)"
            ) from None
        if not isinstance(private, ed25519.Ed25519PrivateKey):
            raise InputError(f"--key {path}: not an Ed25519 key (`ledger keys new` makes one)")
        return cls(private)

    def sign(self, first: int, last: int, chain_hash: str) -> str:
        """The signature of a command's events (base64)."""
        signed = self._private.sign(message(first, last, chain_hash))
        return base64.b64encode(signed).decode()


def new_key() -> tuple[bytes, bytes, str]:
    """A new key: its private PEM, its raw public key and its id."""
    from cryptography.hazmat.primitives import serialization

    private = _ed25519().Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    key = SigningKey(private)
    return pem, key.public, key.key_id


def keyring_line(name: str, public: bytes) -> str:
    """A public key as a line of a keyring."""
    return f"{name} {PREFIX}{base64.b64encode(public).decode()}"


@dataclass(frozen=True)
class Keyring:
    """Public keys by id, each with its holder's name."""

    keys: dict[str, tuple[str, bytes]] = field(default_factory=dict)

    @classmethod
    def load(cls, path: Path) -> Keyring:
        """A keyring file (``NAME ed25519:BASE64`` a line), or an InputError naming the line."""
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise InputError(f"--keys {path}: no such file") from None
        except (OSError, UnicodeDecodeError) as e:
            raise InputError(f"--keys {path}: cannot be read ({e})") from None
        keys: dict[str, tuple[str, bytes]] = {}
        for number, line in enumerate(text.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].startswith(PREFIX):
                raise InputError(
                    f"--keys {path}, line {number}: expected NAME {PREFIX}BASE64"
                    " (as `ledger keys new` prints)"
                )
            try:
                public = base64.b64decode(parts[1][len(PREFIX) :], validate=True)
            except (binascii.Error, ValueError):
                public = b""
            if len(public) != 32:
                raise InputError(f"--keys {path}, line {number}: not a 32-byte Ed25519 public key")
            keys[key_id(public)] = (parts[0], public)
        if not keys:
            raise InputError(f"--keys {path}: holds no key")
        return cls(keys)

    def name(self, ident: str) -> str | None:
        """The holder of a key id, if the keyring has it."""
        found = self.keys.get(ident)
        return found[0] if found else None


class Signature(NamedTuple):
    """One command's signature as stored, and the chain hash at its last position."""

    first: int
    last: int
    key_id: str
    signature: str
    chain_hash: str | None


@dataclass(frozen=True)
class SignatureReport:
    """What ``check`` found: events signed by each holder, and every problem."""

    events: int
    signed: dict[str, int]
    unsigned: list[tuple[int, int]]
    unknown: list[Signature]
    bad: list[Signature]

    @property
    def ok(self) -> bool:
        """Whether every event is signed by a key of the keyring."""
        return not (self.unsigned or self.unknown or self.bad)

    def problem(self) -> str:
        """The first problem, in one line, with how many there are of each kind."""
        parts = []
        if self.bad:
            s = self.bad[0]
            parts.append(
                f"{len(self.bad)} bad signature(s), the first over positions {_span(s)}"
                f" by key {s.key_id}: the events or their chain were changed after signing,"
                " or the signature was forged"
            )
        if self.unknown:
            s = self.unknown[0]
            parts.append(
                f"{len(self.unknown)} signature(s) by keys not in the keyring, the first"
                f" {s.key_id} over positions {_span(s)}"
            )
        if self.unsigned:
            count = sum(b - a + 1 for a, b in self.unsigned)
            a, b = self.unsigned[0]
            where = f"position {a}" if a == b else f"positions {a}–{b}"
            parts.append(f"{count} event(s) not signed by any key, the first at {where}")
        return "; ".join(parts)


def _span(s: Signature) -> str:
    return str(s.first) if s.first == s.last else f"{s.first}–{s.last}"


def check(signatures: Iterable[Signature], keyring: Keyring, events: int) -> SignatureReport:
    """Check every stored signature against the keyring, and which of the ``events``
    positions no good signature covers."""
    ed25519 = _ed25519()
    from cryptography.exceptions import InvalidSignature

    covered: list[tuple[int, int]] = []
    signed: dict[str, int] = {}
    unknown: list[Signature] = []
    bad: list[Signature] = []
    for s in signatures:
        found = keyring.keys.get(s.key_id)
        if found is None:
            unknown.append(s)
            continue
        name, public = found
        try:
            raw = base64.b64decode(s.signature, validate=True)
            if s.chain_hash is None or s.first > s.last:
                raise InvalidSignature
            ed25519.Ed25519PublicKey.from_public_bytes(public).verify(
                raw, message(s.first, s.last, s.chain_hash)
            )
        except (InvalidSignature, binascii.Error, ValueError):
            bad.append(s)
            continue
        covered.append((s.first, min(s.last, events)))
        signed[name] = signed.get(name, 0) + s.last - s.first + 1
    return SignatureReport(events, signed, _gaps(covered, events), unknown, bad)


def _gaps(covered: Sequence[tuple[int, int]], events: int) -> list[tuple[int, int]]:
    """The stretches of 1..events no range covers."""
    gaps = []
    upto = 0
    for first, last in sorted(covered):
        if first > upto + 1:
            gaps.append((upto + 1, first - 1))
        upto = max(upto, last)
    if upto < events:
        gaps.append((upto + 1, events))
    return gaps
