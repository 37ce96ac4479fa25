"""Site and result packages: a round trip, and every refusal with its message."""

from __future__ import annotations

import datetime as dt

import pytest

from junheng.site import (
    PackageError,
    new_signing_key,
    new_unlock_code,
    open_package,
    read_manifest,
    result_key,
    seal,
    site_signing_key,
)
from junheng.site.package import MAGIC, UNLOCK_ALPHABET

NOW = dt.datetime(2026, 5, 20, 8, 0, tzinfo=dt.UTC)
FILES = {"data.json": b'{"pupils": 3}', "items/I1.json": "哪个季节最热？".encode()}


@pytest.fixture(scope="module")
def centre():
    return new_signing_key()


@pytest.fixture(scope="module")
def sealed(centre):
    code = new_unlock_code()
    blob = seal(FILES, kind="site", site="T41", cycle="2026-6", signer=centre, unlock_code=code,
                issued_at=NOW, expires_at=NOW + dt.timedelta(days=1))
    return blob, code


def _open(blob, centre, code, **kw):
    args = {"kind": "site", "site": "T41", "trusted": centre.public_key(), "unlock_code": code, "now": NOW, **kw}
    return open_package(blob, **args)


def test_the_unlock_code_has_100_bits_of_its_alphabet():
    code = new_unlock_code()
    assert len(code) == 23 and code.count("-") == 3
    assert set(code.replace("-", "")) <= set(UNLOCK_ALPHABET) and len(UNLOCK_ALPHABET) == 32


def test_round_trip_with_the_code_as_typed(sealed, centre):
    blob, code = sealed
    pkg = _open(blob, centre, code.lower().replace("-", " "))
    assert pkg.files == FILES and pkg.manifest["site"] == "T41"
    assert b"pupils" not in blob and "哪个".encode() not in blob  # encrypted, not only signed


def test_opening_a_package_leaves_no_file_open(sealed, centre, monkeypatch):
    """The decrypted zip's spooled temporary file (a real file beyond :data:`SPOOL`, here 1 byte so
    that it is one) is closed when the members are unpacked, not left to the garbage collector (a
    file descriptor per opened package in a long-running server)."""
    import gc
    import warnings

    from junheng.site import package

    monkeypatch.setattr(package, "SPOOL", 1)
    blob, code = sealed
    gc.collect()  # files other tests in this worker left to the collector warn now, not in the block below
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always", ResourceWarning)
        assert _open(blob, centre, code).files == FILES
        gc.collect()
    assert [str(w.message) for w in seen if issubclass(w.category, ResourceWarning)] == []


def _rewrite(blob: bytes, member: str, change) -> bytes:
    """The package with one part changed (``manifest``, ``signature`` or ``payload``), re-framed."""
    start = len(MAGIC) + 4
    n = int.from_bytes(blob[len(MAGIC):start], "big")
    parts = {"manifest": blob[start:start + n], "signature": blob[start + n:start + n + 64],
             "payload": blob[start + n + 64:]}
    parts[member] = change(parts[member])
    return MAGIC + len(parts["manifest"]).to_bytes(4, "big") + parts["manifest"] + parts["signature"] + parts["payload"]


def _flip(b: bytes, at: int = 40) -> bytes:
    return b[:at] + bytes([b[at] ^ 1]) + b[at + 1:]


@pytest.mark.parametrize(("member", "message"), [("payload", "内容与签名不符"),
                                                 ("manifest", "签名无效|不是本平台"),
                                                 ("signature", "签名无效")])
def test_one_flipped_bit_anywhere_is_refused(sealed, centre, member, message):
    blob, code = sealed
    with pytest.raises(PackageError, match=message):
        _open(_rewrite(blob, member, _flip), centre, code)


def test_a_flipped_byte_anywhere_in_the_file_is_refused(sealed, centre):
    blob, code = sealed
    for at in range(0, len(blob), max(1, len(blob) // 97)):
        with pytest.raises(PackageError):
            _open(_flip(blob, at), centre, code)
    with pytest.raises(PackageError):
        _open(blob + b"x", centre, code)


def test_a_manifest_rewritten_for_another_site_is_refused(sealed, centre):
    blob, code = sealed
    with pytest.raises(PackageError, match="签名无效"):
        _open(_rewrite(blob, "manifest", lambda b: b.replace(b'"T41"', b'"T42"')), centre, code, site="T42")


def test_foreign_key_wrong_site_wrong_code_expired_replayed_wrong_kind(sealed, centre):
    blob, code = sealed
    with pytest.raises(PackageError, match="受信任的密钥"):
        _open(blob, new_signing_key(), code)
    with pytest.raises(PackageError, match="不是本测试点 T42"):
        _open(blob, centre, code, site="T42")
    with pytest.raises(PackageError, match="解锁码不正确"):
        _open(blob, centre, new_unlock_code())
    with pytest.raises(PackageError, match="已于 .* 过期"):
        _open(blob, centre, code, now=NOW + dt.timedelta(days=2))
    with pytest.raises(PackageError, match="旧包或重放"):
        _open(blob, centre, code, newer_than=NOW)
    with pytest.raises(PackageError, match="类型不对"):
        _open(blob, centre, code, kind="result")
    with pytest.raises(PackageError, match="不是本平台的数据包|已损坏"):
        read_manifest(b"PK\x03\x04 not a package")


def test_a_forged_signer_field_still_needs_the_signature(centre):
    """A package signed by another key that claims the centre's fingerprint fails on the signature."""
    from junheng.site.package import fingerprint

    other = new_signing_key()
    blob = seal(FILES, kind="site", site="T41", cycle="c", signer=other, unlock_code="AAAAA", issued_at=NOW)
    forged = _rewrite(blob, "manifest", lambda b: b.replace(fingerprint(other).encode(),
                                                                   fingerprint(centre).encode()))
    with pytest.raises(PackageError, match="签名无效"):
        _open(forged, centre, "AAAAA")


def test_result_keys_are_derived_per_site_package(centre):
    a, b = site_signing_key(centre, "T41", "p1", "c"), site_signing_key(centre, "T41", "p2", "c")
    assert a.public_key().public_bytes_raw() == site_signing_key(centre, "T41", "p1", "c").public_key().public_bytes_raw()
    assert a.public_key().public_bytes_raw() != b.public_key().public_bytes_raw()
    assert result_key(centre, "T41", "p1", "c") == result_key(centre, "T41", "p1", "c") != result_key(centre, "T41", "p2", "c")
    assert result_key(centre, "T42", "p1", "c") != result_key(centre, "T41", "p1", "c")  # another site, another key
    assert result_key(centre, "T41", "p1", "d") != result_key(centre, "T41", "p1", "c")  # the code in another cycle
    assert (site_signing_key(centre, "T41", "p1", "d").public_key().public_bytes_raw()
            != a.public_key().public_bytes_raw())
    assert (site_signing_key(centre, "T42", "p1", "c").public_key().public_bytes_raw()
            != a.public_key().public_bytes_raw())
    blob = seal(FILES, kind="result", site="T41", cycle="c", signer=a, key=result_key(centre, "T41", "p1", "c"), issued_at=NOW)
    pkg = open_package(blob, kind="result", site="T41", trusted=a.public_key(), key=result_key(centre, "T41", "p1", "c"), now=NOW)
    assert pkg.files == FILES
    with pytest.raises(PackageError, match="无法解密"):
        open_package(blob, kind="result", site="T41", trusted=a.public_key(), key=result_key(centre, "T41", "p2", "c"), now=NOW)


def test_a_file_larger_than_a_package_is_refused_by_its_size_before_it_is_read(tmp_path, monkeypatch, centre):
    """By its file, a package at the limit opens; one byte over is refused before it is opened; a
    missing file is a PackageError naming it, not a traceback."""
    import pathlib

    import junheng.site.package as package

    blob = seal(FILES, kind="result", site="T41", cycle="c", signer=centre, key=bytes(32), issued_at=NOW)
    monkeypatch.setattr(package, "MAX_PACKAGE", len(blob))
    small, big = tmp_path / "a.jhresult", tmp_path / "b.jhresult"
    small.write_bytes(blob)
    big.write_bytes(blob + b"x")
    assert open_package(small, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32),
                        now=NOW).files == FILES
    assert read_manifest(small) == read_manifest(blob)
    monkeypatch.setattr(pathlib.Path, "open", lambda *a, **kw: pytest.fail("opened before the size was checked"))
    for read in (read_manifest, lambda p: open_package(p, kind="result", site="T41", trusted=centre.public_key())):
        with pytest.raises(PackageError, match="b.jhresult .*超过数据包的上限"):
            read(big)
        with pytest.raises(PackageError, match="找不到数据包文件 c.jhresult"):
            read(tmp_path / "c.jhresult")


def test_package_bytes_larger_than_a_package_are_refused_by_their_length(monkeypatch, centre):
    """The same limit for a package handed over as bytes: at the limit it opens, one byte over is
    refused by its length, naming the limit, before anything is parsed."""
    import junheng.site.package as package

    blob = seal(FILES, kind="result", site="T41", cycle="c", signer=centre, key=bytes(32), issued_at=NOW)
    monkeypatch.setattr(package, "MAX_PACKAGE", len(blob))
    assert open_package(blob, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32),
                        now=NOW).files == FILES
    monkeypatch.setattr(package, "MAX_PACKAGE", len(blob) - 1)
    monkeypatch.setattr(package.zipfile, "ZipFile", lambda *a, **kw: pytest.fail("parsed before the size was checked"))
    for read in (read_manifest, lambda b: open_package(b, kind="result", site="T41", trusted=centre.public_key())):
        with pytest.raises(PackageError, match=f"{len(blob)} 字节.*超过数据包的上限"):
            read(blob)


def test_a_package_file_is_verified_and_decrypted_in_pieces_holding_only_its_members(tmp_path, centre):
    """Opened by its file, a package of an 8 MB member (random: it does not deflate) costs about
    the member and a few pieces — ZipFile.read alone held 3.5 times the member, and the package
    opened from bytes used to hold the payload, the decrypted zip and the member (45 MB measured
    for this package at 14045fc)."""
    import os
    import tracemalloc

    data = os.urandom(8 * 2**20)
    path = tmp_path / "T41.jhresult"
    path.write_bytes(seal({"results.json": data}, kind="result", site="T41", cycle="c", signer=centre,
                          key=bytes(32), issued_at=NOW))
    tracemalloc.start()
    try:
        pkg = open_package(path, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32), now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert pkg.files["results.json"] == data
    assert peak < 14 * 2**20, peak  # 8 MB member + 4 MB spooled zip + 1 MB pieces
    blob = bytearray(path.read_bytes())
    blob[-100] ^= 1  # a changed byte of the ciphertext: the digest says so, nothing is unpacked
    path.write_bytes(blob)
    with pytest.raises(PackageError, match="内容与签名不符"):
        open_package(path, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32), now=NOW)


def test_an_oversized_package_file_is_refused_naming_it_and_the_limit_without_reading_it(tmp_path):
    """A package file one byte over the limit (a sparse file: nothing is written to disk) is refused
    by its size; the refusal names the file and the limit, and the read allocates almost nothing."""
    import tracemalloc

    from junheng.site.package import MAX_PACKAGE

    assert MAX_PACKAGE == 96 * 2**20  # the arithmetic in docs/guide/delivery.md
    big = tmp_path / "T41.jhresult"
    with big.open("wb") as f:
        f.truncate(MAX_PACKAGE + 1)
    tracemalloc.start()
    try:
        with pytest.raises(PackageError) as err:
            read_manifest(big)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak
    assert "T41.jhresult" in str(err.value) and "96 MB" in str(err.value) and "超过数据包的上限" in str(err.value)


def _zip_of_zeros(name: str, size: int, declared: int | None = None) -> bytes:
    """A one-member zip of ``size`` zero bytes written in 64 kB pieces (never held whole); its
    headers say ``declared`` bytes when given (a zip that lies about its size)."""
    import io
    import struct
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z, z.open(name, "w", force_zip64=False) as f:
        for _ in range(size // 65536):
            f.write(bytes(65536))
    blob = bytearray(buf.getvalue())
    if declared is not None:
        struct.pack_into("<I", blob, 22, declared)  # the local header's uncompressed size
        cd = blob.rindex(b"PK\x01\x02")
        struct.pack_into("<I", blob, cd + 24, declared)  # the central directory's
    return bytes(blob)


def test_a_member_over_the_limit_is_refused_by_its_declared_size_before_it_is_unpacked(centre, monkeypatch):
    import tracemalloc

    import junheng.site.package as package

    monkeypatch.setattr(package, "MAX_PACKAGE", 2**20)
    monkeypatch.setattr(package, "_zip", lambda files: _zip_of_zeros("results.json", 8 * 2**20))
    blob = seal({}, kind="result", site="T41", cycle="c", signer=centre, key=bytes(32), issued_at=NOW)
    assert len(blob) < 2**16  # 8 MB of zeros deflate to a few kB
    tracemalloc.start()
    try:
        with pytest.raises(PackageError) as err:
            open_package(blob, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32), now=NOW)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak
    assert "results.json" in str(err.value) and "8 MB" in str(err.value) and "1 MB" in str(err.value)


def test_members_each_within_the_limit_but_together_over_it_are_refused_before_unpacking(centre, monkeypatch):
    """The limit is on what the package unpacks to, all members together: two members of 600,000
    and 590,000 bytes open under a limit of their total, and are refused by their declared sizes,
    naming the total and the largest, one byte under it (where each alone would pass)."""
    import io
    import zipfile

    import junheng.site.package as package

    def two_members(files):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("results.json", bytes(600_000))
            z.writestr("audit.json", bytes(590_000))
        return buf.getvalue()

    monkeypatch.setattr(package, "MAX_PACKAGE", 1_190_000)
    monkeypatch.setattr(package, "_zip", two_members)
    blob = seal({}, kind="result", site="T41", cycle="c", signer=centre, key=bytes(32), issued_at=NOW)
    files = open_package(blob, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32), now=NOW).files
    assert {k: len(v) for k, v in files.items()} == {"results.json": 600_000, "audit.json": 590_000}
    monkeypatch.setattr(package, "MAX_PACKAGE", 1_189_999)
    with pytest.raises(PackageError, match="解压后有.*results.json") as err:
        open_package(blob, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32), now=NOW)
    assert "refused before unpacking" in str(err.value)


def test_a_member_longer_than_it_declares_is_damaged_and_never_unpacked_past_its_declared_size(centre, monkeypatch):
    import junheng.site.package as package

    monkeypatch.setattr(package, "_zip", lambda files: _zip_of_zeros("results.json", 4 * 2**20, declared=100))
    blob = seal({}, kind="result", site="T41", cycle="c", signer=centre, key=bytes(32), issued_at=NOW)
    with pytest.raises(PackageError, match="已损坏"):
        open_package(blob, kind="result", site="T41", trusted=centre.public_key(), key=bytes(32), now=NOW)


def test_a_read_error_part_way_through_the_payload_closes_the_decrypted_file(monkeypatch):
    """Whatever stops the decryption — here the package file failing to read after its first piece —
    the spooled temporary file it was writing is closed there, not left to the garbage collector."""
    import io
    import tempfile

    from junheng.site import package

    made = []

    class Spool(tempfile.SpooledTemporaryFile):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            made.append(self)

    class Failing(io.BytesIO):  # the tag (the last 16 bytes) reads; the payload fails after one piece
        def read(self, size=-1):
            if size != 16 and self.tell() >= package.CHUNK:
                raise OSError("disk went away")
            return super().read(size)

    monkeypatch.setattr(package.tempfile, "SpooledTemporaryFile", Spool)
    payload = Failing(bytes(3 * package.CHUNK))
    manifest = {"nonce": "00" * 12, "payload_sha256": "0" * 64, "format": 1, "kind": "test", "site": "T41",
                "package_id": "p"}
    with pytest.raises(OSError, match="disk went away"):
        package._decrypt(payload, 0, 3 * package.CHUNK, bytes(32), manifest, "p.zip")
    assert len(made) == 1 and made[0].closed
