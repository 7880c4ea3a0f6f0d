"""The store's keys, kept outside the store: file and environment logic only.

A store has a random, non-secret `store_id` (kept in the store). Its keys are a small
JSON document:

- `data_keys`: key id -> 32-byte AES-256-GCM key; `current` is the one new values are
  encrypted with, older ones stay until `bbc key rotate` has re-encrypted every value;
- `lookup_key`: the HMAC key of the keyed hashes that find a citizen by phone, ID
  number or name without decrypting (search, repeat detection);
- `seal_key`: an HMAC key for keyed sealing of the event chain.

The document is read from `BBC_KEY` (the key file's content, for servers), else from
`$BBC_KEY_DIR/<store_id>.key` (default `$XDG_CONFIG_HOME/banbucheng/keys`, or
`~/.config/banbucheng/keys`). A key file must be owner-only (0600): one that the group
or others may read is refused, never used.

Encryption: AES-GCM with a random 96-bit nonce; the associated data binds a value to
its case number and field, so a ciphertext moved to another case or field fails
authentication. A token is `<key id>:<base64 of nonce + ciphertext>`.

No database here; cryptography is imported only when a value is encrypted or decrypted.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hmac
import json
import os
import secrets
import stat
from binascii import b2a_base64
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from banbucheng.core.errors import BbcError, InvalidInput

FORMAT = "bbc-key-1"
KEY_BYTES = 32
ENV_KEY = "BBC_KEY"
ENV_DIR = "BBC_KEY_DIR"
EXIT_KEY = 6  # the key is needed and missing, unusable or wrong


class KeyProblem(BbcError):
    """The store's key is missing, unusable, or does not open a value (exit 6)."""

    exit_code = EXIT_KEY


class KeyMissing(KeyProblem):
    """The action needs the clear personal data and the key is not available."""


class KeyUnusable(KeyProblem):
    """A key file or BBC_KEY exists but may not or cannot be used."""


class DecryptFailed(KeyProblem):
    """A value does not open with the key: tampered, moved between cases, or wrong key."""


@dataclass(frozen=True)
class Keyring:
    store_id: str
    data_keys: dict[str, bytes]
    current: str
    lookup_key: bytes
    seal_key: bytes
    source: str = field(default="", compare=False)  # where it was read: a path or BBC_KEY

    # ------------------------------------------------------------ encryption

    @functools.cached_property
    def _ciphers(self) -> dict[str, Any]:
        """AES-GCM contexts by key id, made on first use and kept with the keyring (one
        is reused for any number of values; `bbc import` encrypts tens of thousands)."""
        return {}

    def _cipher(self, key_id: str) -> Any:
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            from cryptography.hazmat.primitives.ciphers.aead import AESGCM

            cipher = self._ciphers[key_id] = AESGCM(self.data_keys[key_id])
        return cipher

    def encrypt(self, value: str, aad: str) -> str:
        # os.urandom is what secrets.token_bytes and base64.b64encode's binascii call
        # come down to, without their wrappers (bbc import encrypts tens of thousands).
        nonce = os.urandom(12)
        sealed = self._cipher(self.current).encrypt(
            nonce, value.encode("utf-8"), aad.encode("utf-8")
        )
        return f"{self.current}:{b2a_base64(nonce + sealed, newline=False).decode('ascii')}"

    def decrypt(self, token: str, aad: str) -> str:
        from cryptography.exceptions import InvalidTag

        key_id, _, body = token.partition(":")
        if key_id not in self.data_keys:
            raise DecryptFailed(f"密钥中没有加密这项个人信息所用的密钥 {key_id or '（空）'}")
        try:
            raw = base64.b64decode(body.encode("ascii"), validate=True)
            clear = self._cipher(key_id).decrypt(raw[:12], raw[12:], aad.encode("utf-8"))
        except (InvalidTag, ValueError, UnicodeError):
            raise DecryptFailed(
                "个人信息无法解密：密文被改动、被换到别的案件或字段，或密钥不对"
            ) from None
        return clear.decode("utf-8")

    @staticmethod
    def key_id_of(token: str) -> str:
        return token.partition(":")[0]

    def lookup(self, kind: str, value: str) -> str:
        """The keyed hash of a normalised value (32 hex characters, 128 bits)."""
        message = f"{kind}:{value}".encode()
        return hmac.digest(self.lookup_key, message, "sha256").hex()[:32]

    # ------------------------------------------------------------ keys

    def with_new_data_key(self) -> Keyring:
        """A new data key, made current; the old ones stay until re-encryption is done."""
        numbers = [int(k[1:]) for k in self.data_keys if k[1:].isdigit()]
        key_id = f"k{max(numbers, default=0) + 1}"
        keys = {**self.data_keys, key_id: secrets.token_bytes(KEY_BYTES)}
        return replace(self, data_keys=keys, current=key_id)

    def retire_except(self, keep: set[str]) -> Keyring:
        """Only the keys in `keep` (and always the current one) remain."""
        keys = {k: v for k, v in self.data_keys.items() if k in keep or k == self.current}
        return replace(self, data_keys=keys)

    # ------------------------------------------------------------ text form

    def dumps(self) -> str:
        def b64(raw: bytes) -> str:
            return base64.b64encode(raw).decode("ascii")

        document = {
            "format": FORMAT,
            "store_id": self.store_id,
            "current": self.current,
            "data_keys": {k: b64(v) for k, v in sorted(self.data_keys.items())},
            "lookup_key": b64(self.lookup_key),
            "seal_key": b64(self.seal_key),
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n"


def generate(store_id: str) -> Keyring:
    return Keyring(
        store_id=store_id,
        data_keys={"k1": secrets.token_bytes(KEY_BYTES)},
        current="k1",
        lookup_key=secrets.token_bytes(KEY_BYTES),
        seal_key=secrets.token_bytes(KEY_BYTES),
    )


def new_store_id() -> str:
    return secrets.token_hex(16)


def loads(text: str, *, source: str = "") -> Keyring:
    """A keyring from its text form; anything malformed is refused in one line."""
    bad = KeyUnusable(f"密钥内容无法识别（{source or ENV_KEY}）：不是 bbc 的密钥文件或已损坏")
    try:
        doc = json.loads(text)
        if not isinstance(doc, dict) or doc.get("format") != FORMAT:
            raise bad

        def raw(value: object) -> bytes:
            out = base64.b64decode(str(value).encode("ascii"), validate=True)
            if len(out) != KEY_BYTES:
                raise ValueError
            return out

        keys = {str(k): raw(v) for k, v in dict(doc["data_keys"]).items()}
        ring = Keyring(
            store_id=str(doc["store_id"]),
            data_keys=keys,
            current=str(doc["current"]),
            lookup_key=raw(doc["lookup_key"]),
            seal_key=raw(doc["seal_key"]),
            source=source,
        )
    except (ValueError, TypeError, KeyError, UnicodeError, AttributeError):
        raise bad from None
    if ring.current not in ring.data_keys or not ring.store_id:
        raise bad
    return ring


# ---------------------------------------------------------------- where keys live


def key_dir() -> Path:
    given = os.environ.get(ENV_DIR, "").strip()
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME", "").strip() or os.path.expanduser("~/.config")
    return Path(base) / "banbucheng" / "keys"


def key_path(store_id: str) -> Path:
    return key_dir() / f"{store_id}.key"


def check_private(path: Path) -> None:
    """Refuse a key file the group or others may read or write."""
    try:
        mode = path.stat().st_mode
    except OSError as exc:
        raise KeyUnusable(f"无法读取密钥文件 {path}：{exc.strerror}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyUnusable(
            f"密钥文件 {path} 的权限过宽（{stat.S_IMODE(mode):o}），同组或其他用户可以读取，"
            f"拒绝使用；请运行 chmod 600 {path}"
        )


def read_file(path: Path) -> Keyring:
    check_private(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        raise KeyUnusable(f"无法读取密钥文件 {path}") from None
    return loads(text, source=str(path))


def from_env() -> Keyring | None:
    """The keyring in BBC_KEY, or None when it is not set."""
    text = os.environ.get(ENV_KEY, "")
    if not text.strip():
        return None
    return loads(text, source=ENV_KEY)


def load(store_id: str) -> Keyring | None:
    """The store's keyring: BBC_KEY when it holds this store's key, else its key file;
    None when neither has it. A key file that may not be used is refused."""
    env = from_env()
    if env is not None and env.store_id == store_id:
        return env
    path = key_path(store_id)
    if not path.exists():
        return None
    ring = read_file(path)
    if ring.store_id != store_id:
        raise KeyUnusable(f"密钥文件 {path} 属于另一个数据库")
    return ring


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def write(ring: Keyring, path: Path, *, overwrite: bool = False) -> Path:
    """Write the key file owner-only (0600), whole or not at all; an existing file is
    replaced only with overwrite=True (rotation), never by accident."""
    path = Path(path).expanduser()
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise KeyUnusable(f"无法创建密钥文件夹 {path.parent}：{exc.strerror}") from None
    if path.exists() and not overwrite:
        raise InvalidInput(f"密钥文件已存在，不会覆盖：{path}")
    # A short temporary name: the target's own may already be as long as names go.
    tmp = path.with_name(f".bbc-key.{secrets.token_hex(4)}.tmp")
    try:
        fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(ring.dumps())
            out.flush()
            os.fsync(out.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            os.link(tmp, path)  # fails if another process made it meanwhile
            os.unlink(tmp)
    except FileExistsError:
        _discard(tmp)
        raise InvalidInput(f"密钥文件已存在，不会覆盖：{path}") from None
    except OSError as exc:
        _discard(tmp)
        raise KeyUnusable(f"无法写入密钥文件 {path}：{exc.strerror}") from None
    return path
