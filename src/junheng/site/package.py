"""Signed, encrypted packages between the centre and a test site (测试点服务器), issue 15.1.

A package is one file: the line ``JUNHENG-PACKAGE 1``, the manifest's length (4 bytes, big-endian),
then

- the manifest (JSON) — what it is (``kind``: ``site`` from the centre, ``result`` from a site), for
  which ``site`` and ``cycle``, its ``package_id`` (UUID), ``issued_at``, ``expires_at``, the
  signer's key fingerprint, the encryption parameters and the SHA-256 of the payload;
- the signature: Ed25519 over the manifest's bytes (RFC 8032, 64 bytes), which covers the payload
  through its digest;
- the payload to the end: the files (a zip) encrypted with AES-256-GCM; the associated data binds
  the ciphertext to the manifest's kind, site and package id.

Every byte is covered: a changed byte anywhere breaks the header, the signature, the digest or
the authentication tag.

Keys.  The centre signs site packages with its Ed25519 key (``centre_key``), whose public half the
site laptops receive beforehand.  A site package is encrypted under a key derived from the site's
**unlock code** by scrypt (RFC 7914; n = 2^15, r = 8, p = 1): the code (20 characters from a
32-letter alphabet, 100 bits) is released at test start, so a laptop stolen the day before reveals
nothing.  Each site package carries, inside its encrypted payload, the site's own signing key and
result key, both derived from the centre's key and the package id by HKDF-SHA-256 (RFC 5869): the
centre re-derives them at ingest and keeps no table of site secrets.  A result package is signed
with the site key and encrypted with the result key.

:func:`open_package` refuses, with a Chinese and English message (:class:`PackageError`), a package
that is damaged or tampered with (signature, digest or authentication tag), signed by another
centre or site, meant for another site, of the wrong kind, expired, older than one already loaded
(a replay), or locked with another unlock code.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import secrets
import tempfile
import uuid
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from junheng.exceptions import ParameterError

FORMAT = 1
MAGIC = b"JUNHENG-PACKAGE 1\n"
KINDS = ("site", "result")
UNLOCK_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 letters without 0/O, 1/I
UNLOCK_GROUPS, UNLOCK_GROUP = 4, 5  # 20 characters: 100 bits
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
# The largest real package, with a 4x margin (docs/guide/delivery.md, "How large a package may
# be"): a province's biggest test site has 300 pupils (the average is 168,000 / 5,800 = 29; a node
# is load-tested with 300); its result package holds ~78 kB of JSON a pupil (36 choice changes of
# <= 277 B, 40 text saves of ~300 B + 100 characters, 90 questionnaire changes of <= 329 B, ~10
# heartbeat spans of <= 203 B), so 300 x 78 kB = 23.4 MB, and 4 x 23.4 MB = 94 MB <= 96 MiB.  A site package is smaller (~2 kB a pupil
# and the booklets' items).  One limit for the file and for the members unpacked, each and all.
MAX_PACKAGE = 96 * 2**20
MAX_MANIFEST = 2**16  # bytes of a manifest (a real one has ~700)
CHUNK = 2**20  # a package file is read, hashed and decrypted in pieces of this size
SPOOL = 4 * 2**20  # the decrypted zip is kept in memory up to this size, beyond it in a temporary file


class PackageError(ParameterError):
    """A package that must not be used (the message says why, in Chinese and English)."""


@dataclass(frozen=True)
class Package:
    manifest: dict
    files: dict[str, bytes | bytearray]

    @property
    def package_id(self) -> str:
        return self.manifest["package_id"]


# ---- keys ---------------------------------------------------------------------------------------

def new_signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


def public_pem(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def load_private(path: Path) -> Ed25519PrivateKey:
    key = _load(path, serialization.load_pem_private_key, password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise PackageError(f"{path} 不是 Ed25519 私钥 / is not an Ed25519 private key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    key = _load(path, serialization.load_pem_public_key)
    if not isinstance(key, Ed25519PublicKey):
        raise PackageError(f"{path} 不是 Ed25519 公钥 / is not an Ed25519 public key")
    return key


def _load(path: Path, loader, **kw):
    try:
        return loader(Path(path).read_bytes(), **kw)
    except FileNotFoundError:
        raise PackageError(f"找不到密钥文件 {path} / key file not found: {path}") from None
    except (ValueError, TypeError):
        raise PackageError(f"{path} 不是可读的 PEM 密钥 / {path} is not a readable PEM key") from None


def fingerprint(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The first 16 hex digits of SHA-256 of the raw public key (shown to people, kept in manifests)."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def _hkdf(centre: Ed25519PrivateKey, info: str) -> bytes:
    seed = centre.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                                serialization.NoEncryption())
    return HKDF(hashes.SHA256(), 32, salt=b"junheng-site-package", info=info.encode()).derive(seed)


def site_signing_key(centre: Ed25519PrivateKey, site: str, package_id: str, cycle: str) -> Ed25519PrivateKey:
    """The signing key of ``site`` of ``cycle``, which received site package ``package_id`` (HKDF of
    the centre's key).  The cycle is bound in: site codes recur from one cycle to the next, and a
    site's key must not speak for the same code's sessions of another cycle."""
    return Ed25519PrivateKey.from_private_bytes(_hkdf(centre, f"site-signing|{cycle}|{site}|{package_id}"))


def result_key(centre: Ed25519PrivateKey, site: str, package_id: str, cycle: str) -> bytes:
    """The AES-256 key of ``site``'s (of ``cycle``) result packages under site package ``package_id``."""
    return _hkdf(centre, f"result|{cycle}|{site}|{package_id}")


def new_unlock_code() -> str:
    """A random unlock code, e.g. ``K7QF2-M9XRT-…`` (4 groups of 5; 100 bits)."""
    chars = "".join(secrets.choice(UNLOCK_ALPHABET) for _ in range(UNLOCK_GROUPS * UNLOCK_GROUP))
    return "-".join(chars[k:k + UNLOCK_GROUP] for k in range(0, len(chars), UNLOCK_GROUP))


def normalise_unlock(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def unlock_key(code: str, salt: bytes) -> bytes:
    """AES-256 key from an unlock code: scrypt (RFC 7914) of the normalised code."""
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(normalise_unlock(code).encode())


# ---- sealing ------------------------------------------------------------------------------------

def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name in sorted(files):
            z.writestr(name, files[name])
    return buf.getvalue()


def _mb(n: int) -> str:
    return f"{n / 2**20:.3g} MB"


def _unzip(plain, what: str) -> dict[str, bytes]:
    """The members of the decrypted payload ``plain`` (a file object), refused by their declared sizes before any is
    unpacked (``zipfile`` stops a member at its declared size, and a member longer than declared
    fails its CRC: a damaged package)."""
    damaged = PackageError(f"{what} 已损坏，不是完整的数据包 / {what} is damaged: not a complete package")
    try:
        z = zipfile.ZipFile(plain)
    except (zipfile.BadZipFile, EOFError, ValueError):
        raise damaged from None
    with z:
        total = sum(i.file_size for i in z.infolist())
        if total > MAX_PACKAGE:  # (outside the try: a PackageError is a ValueError too)
            big = max(z.infolist(), key=lambda i: i.file_size)
            raise PackageError(
                f"{what} 解压后有 {_mb(total)}（最大的文件 {big.filename}：{_mb(big.file_size)}），超过数据包的上限 "
                f"{_mb(MAX_PACKAGE)}，未解压，拒绝使用 / {what} unpacks to {_mb(total)} (its largest file "
                f"{big.filename}: {_mb(big.file_size)}), more than a package may hold ({_mb(MAX_PACKAGE)}): "
                "refused before unpacking")
        try:
            return {i.filename: _member(z, i) for i in z.infolist()}
        except (zipfile.BadZipFile, EOFError, ValueError):
            raise damaged from None


def _member(z: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytearray:
    """One member unpacked in pieces into a buffer of its declared size (``ZipFile.read`` holds
    about 3.5 times a member while it inflates it); shorter than declared: damaged."""
    out = bytearray(info.file_size)
    view, at = memoryview(out), 0
    with z.open(info) as f:
        while at < info.file_size:
            piece = f.read(min(CHUNK, info.file_size - at))
            if not piece:
                raise EOFError
            view[at:at + len(piece)] = piece
            at += len(piece)
    return out


def _aad(manifest: dict) -> bytes:
    return f"junheng|{manifest['format']}|{manifest['kind']}|{manifest['site']}|{manifest['package_id']}".encode()


def seal(files: dict[str, bytes], *, kind: str, site: str, cycle: str, signer: Ed25519PrivateKey,
         unlock_code: str | None = None, key: bytes | None = None, expires_at: dt.datetime | None = None,
         issued_at: dt.datetime | None = None, package_id: str | None = None, extra: dict | None = None) -> bytes:
    """The package of ``files`` for ``site``: encrypted under ``unlock_code`` (scrypt) or a raw
    32-byte ``key``, signed by ``signer``.  ``extra`` goes into the manifest (readable unencrypted)."""
    if kind not in KINDS:
        raise ParameterError(f"未知的数据包类型 / unknown package kind: {kind!r}")
    if (unlock_code is None) == (key is None):
        raise ParameterError("需要解锁码或密钥之一 / give an unlock code or a key, not both")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    issued_at = issued_at or dt.datetime.now(dt.UTC)
    manifest = {
        "format": FORMAT, "kind": kind, "site": site, "cycle": cycle,
        "package_id": package_id or str(uuid.uuid4()), "issued_at": issued_at.isoformat(),
        "expires_at": expires_at.isoformat() if expires_at else None, "signer": fingerprint(signer),
        "cipher": "AES-256-GCM", "kdf": "scrypt" if unlock_code is not None else "raw",
        "scrypt": {"n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P}, "salt": salt.hex(), "nonce": nonce.hex(),
        **(extra or {}),
    }
    secret = unlock_key(unlock_code, salt) if unlock_code is not None else key
    payload = AESGCM(secret).encrypt(nonce, _zip(files), _aad(manifest))
    manifest["payload_sha256"] = hashlib.sha256(payload).hexdigest()
    head = json.dumps(manifest, ensure_ascii=False, sort_keys=True).encode()
    return MAGIC + len(head).to_bytes(4, "big") + head + signer.sign(head) + payload


def _too_large(what: str, size: int) -> PackageError:
    return PackageError(f"{what} 有 {_mb(size)}（{size} 字节），超过数据包的上限 {_mb(MAX_PACKAGE)}，未读取，拒绝使用 / "
                        f"{what} is {_mb(size)} ({size} bytes), more than a package may be ({_mb(MAX_PACKAGE)}): "
                        "refused before reading")


@contextmanager
def _opened(source: bytes | Path, what: str) -> Iterator[tuple]:
    """``(file object, size)`` of a package given as its bytes or as its file's path; a file that
    is missing or larger than :data:`MAX_PACKAGE` is refused by its size before it is read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if len(source) > MAX_PACKAGE:
            raise _too_large(what, len(source))
        yield io.BytesIO(source), len(source)
        return
    path = Path(source)
    if not path.is_file():
        raise PackageError(f"找不到数据包文件 {path.name} / package file not found: {path.name}")
    size = path.stat().st_size
    if size > MAX_PACKAGE:
        raise _too_large(path.name, size)
    with path.open("rb") as f:
        yield f, size


def _header(f, what: str) -> tuple[bytes, dict, bytes]:
    """``(manifest bytes, manifest, signature)`` read from the start of the package file ``f``,
    *not yet verified*; ``f`` is left at the payload's first byte."""
    try:
        start = f.read(len(MAGIC) + 4)
        if not start.startswith(MAGIC) or len(start) != len(MAGIC) + 4:
            raise ValueError
        n = int.from_bytes(start[len(MAGIC):], "big")
        if n > MAX_MANIFEST:
            raise ValueError
        head, signature = f.read(n), f.read(64)
        manifest = json.loads(head)
        if (len(signature) != 64 or not isinstance(manifest, dict) or manifest.get("format") != FORMAT
                or manifest.get("kind") not in KINDS):
            raise ValueError
        for name in ("site", "package_id", "issued_at", "signer", "kdf", "salt", "nonce", "payload_sha256"):
            if not isinstance(manifest.get(name), str):
                raise ValueError
        dt.datetime.fromisoformat(manifest["issued_at"])
        if manifest.get("expires_at") is not None:
            dt.datetime.fromisoformat(manifest["expires_at"])
    except (ValueError, UnicodeDecodeError, TypeError):
        raise PackageError(f"{what} 不是本平台的数据包，或已损坏（无法读取清单） / {what} is not a junheng "
                           "package, or is damaged (its manifest cannot be read)") from None
    return head, manifest, signature


def _pieces(f, n: int) -> Iterator[bytes]:
    """The next ``n`` bytes of ``f`` in pieces of :data:`CHUNK` (fewer if the file ends early)."""
    while n > 0:
        piece = f.read(min(CHUNK, n))
        if not piece:
            return
        n -= len(piece)
        yield piece


def _altered(what: str) -> PackageError:
    return PackageError(f"{what} 内容与签名不符（数据被篡改或损坏），拒绝使用 / {what}: the payload does not "
                        "match its signed digest (altered or damaged): refused")


def read_manifest(source: bytes | Path, what: str = "数据包 / package") -> dict:
    """The manifest as written, *not yet verified* (to find which site and key a package claims);
    ``source``: the package's bytes or its file (of which only the header is read)."""
    with _opened(source, what) as (f, _size):
        return _header(f, what)[1]


def open_package(source: bytes | Path, *, kind: str, site: str, trusted: Ed25519PublicKey,
                 unlock_code: str | None = None, key: bytes | None = None, now: dt.datetime | None = None,
                 newer_than: dt.datetime | None = None, what: str = "数据包 / package") -> Package:
    """Verify and decrypt a package (its bytes, or its file: read in pieces of :data:`CHUNK`, the
    decrypted zip kept in a temporary file beyond :data:`SPOOL`, so that only the unpacked members
    are held whole); every refusal is a :class:`PackageError` saying why.

    Checked in this order: it is a package of at most :data:`MAX_PACKAGE`; ``kind``; signed by
    ``trusted`` (fingerprint, then the Ed25519 signature over the manifest); the payload's digest;
    meant for ``site``; not expired at ``now``; issued after ``newer_than`` (an older package is a
    replay); decrypts and authenticates under ``unlock_code`` / ``key`` (AES-GCM: nothing decrypted
    is used before the tag at the end is checked, and the digest is checked again on the bytes
    decrypted); its members unpack within :data:`MAX_PACKAGE`."""
    with _opened(source, what) as (f, size):
        head, manifest, signature = _header(f, what)
        start = f.tell()
        n = size - start
        _verify(head, manifest, signature, kind=kind, trusted=trusted, what=what)
        digest = hashlib.sha256()
        for piece in _pieces(f, n):
            digest.update(piece)
        if digest.hexdigest() != manifest.get("payload_sha256"):
            raise _altered(what)
        _addressed(manifest, site=site, now=now, newer_than=newer_than, what=what)
        secret = _secret(manifest, unlock_code, key, what)
        with _decrypt(f, start, n, secret, manifest, what) as plain:  # closed once unpacked
            return Package(manifest, _unzip(plain, what))


def _verify(head: bytes, manifest: dict, signature: bytes, *, kind: str, trusted: Ed25519PublicKey,
            what: str) -> None:
    """The kind, the signer and the signature of a package's manifest."""
    if manifest["kind"] != kind:
        want = {"site": "测试点数据包 / a site package", "result": "结果数据包 / a result package"}[kind]
        raise PackageError(f"{what} 类型不对，需要{want} / wrong kind {manifest['kind']!r}")
    if manifest.get("signer") != fingerprint(trusted):
        raise PackageError(f"{what} 不是由受信任的密钥签名的（签名者 {manifest.get('signer')}，应为 "
                           f"{fingerprint(trusted)}），拒绝使用 / {what} is signed by another key "
                           f"({manifest.get('signer')}, expected {fingerprint(trusted)}): refused")
    try:
        trusted.verify(signature, head)
    except InvalidSignature:
        raise PackageError(f"{what} 签名无效：清单被篡改或数据包被伪造，拒绝使用 / {what}: invalid signature "
                           "(manifest altered or forged): refused") from None


def _addressed(manifest: dict, *, site: str, now: dt.datetime | None, newer_than: dt.datetime | None,
               what: str) -> None:
    """Meant for ``site``, not expired at ``now``, issued after ``newer_than``."""
    if manifest["site"] != site:
        raise PackageError(f"{what} 属于测试点 {manifest['site']}，不是本测试点 {site}，拒绝使用 / {what} is for "
                           f"site {manifest['site']}, not {site}: refused")
    now = now or dt.datetime.now(dt.UTC)
    expires = manifest.get("expires_at")
    if expires and now > dt.datetime.fromisoformat(expires):
        raise PackageError(f"{what} 已于 {expires} 过期，请向中心索取新的数据包 / {what} expired at {expires}; "
                           "ask the centre for a new one")
    issued = dt.datetime.fromisoformat(manifest["issued_at"])
    if newer_than is not None and issued <= newer_than:
        raise PackageError(f"{what} 早于已载入的数据包（{newer_than.isoformat()}），是旧包或重放，拒绝使用 / {what} "
                           f"was issued at {issued.isoformat()}, not after the package already loaded: "
                           "an old or replayed package is refused")


def _secret(manifest: dict, unlock_code: str | None, key: bytes | None, what: str) -> bytes:
    if manifest["kdf"] == "scrypt":
        if unlock_code is None:
            raise PackageError(f"{what} 需要解锁码 / {what} needs the unlock code")
        return unlock_key(unlock_code, bytes.fromhex(manifest["salt"]))
    if key is None:
        raise PackageError(f"{what} 需要结果密钥 / {what} needs its result key")
    return key


def _decrypt(f, start: int, n: int, secret: bytes, manifest: dict, what: str):
    """The payload (``n`` bytes of ``f`` from ``start``: AES-GCM ciphertext, then its 16-byte tag)
    decrypted in pieces into a spooled temporary file, returned once the tag and the digest of the
    bytes just read both hold."""
    wrong = PackageError(f"{what} 无法解密：解锁码不正确（或数据被篡改） / {what} cannot be decrypted: wrong "
                         "unlock code (or altered data)")
    if n < 16:
        raise wrong
    f.seek(start + n - 16)
    tag = f.read(16)
    f.seek(start)
    decryptor = Cipher(algorithms.AES(secret), modes.GCM(bytes.fromhex(manifest["nonce"]), tag)).decryptor()
    decryptor.authenticate_additional_data(_aad(manifest))
    digest, plain = hashlib.sha256(), tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (returned)
    try:
        for piece in _pieces(f, n - 16):
            digest.update(piece)
            plain.write(decryptor.update(piece))
        digest.update(tag)
        try:
            decryptor.finalize()
        except InvalidTag:
            raise wrong from None
        if digest.hexdigest() != manifest.get("payload_sha256"):  # changed between the two reads
            raise _altered(what)
    except BaseException:  # whatever stops it (a bad tag, a read error part way): the file is closed here
        plain.close()
        raise
    plain.seek(0)
    return plain


def write_package(blob: bytes, path: Path) -> Path:
    """Write ``blob`` to ``path`` through a temporary file (a half-written package is never left)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    tmp.write_bytes(blob)
    tmp.replace(path)
    return path
