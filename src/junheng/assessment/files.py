"""Pseudonymous ids for files that leave the platform (the tables themselves are read and written
by :mod:`junheng.io`)."""

from __future__ import annotations

from pathlib import Path

import polars as pl


def pseudonymise(ids: pl.Series, key: str) -> pl.Series:
    """Replace pupil ids by keyed pseudonyms ``P`` + 16 hex digits (BLAKE2b keyed with ``key``).

    The same key gives the same pseudonym in every file, so masked files still join to each
    other; without the key the 学籍号 cannot be recovered or confirmed.
    """
    import hashlib

    k = key.encode("utf-8")[:64]
    uniq = ids.cast(pl.String).unique().drop_nulls()
    mapping = {u: "P" + hashlib.blake2b(u.encode("utf-8"), key=k, digest_size=8).hexdigest() for u in uniq.to_list()}
    return ids.cast(pl.String).replace_strict(mapping, default=None, return_dtype=pl.String)


def mask_key() -> str:
    """The installation's pseudonym key: ``JUNHENG_MASK_KEY``, else a random key kept in
    ``$JUNHENG_HOME/mask.key`` (created on first use)."""
    import os
    import secrets

    if os.environ.get("JUNHENG_MASK_KEY"):
        return os.environ["JUNHENG_MASK_KEY"]
    home = Path(os.environ.get("JUNHENG_HOME", Path.home() / ".junheng"))
    path = home / "mask.key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32), encoding="ascii")
        path.chmod(0o600)
    return path.read_text(encoding="ascii").strip()


__all__ = ["mask_key", "pseudonymise"]
