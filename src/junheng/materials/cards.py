"""Login cards (登录卡): one-time login codes for the browser test.

Codes are drawn from a seeded generator over an alphabet without characters that are easily
confused on paper (no ``0/O``, ``1/I/L``, ``2/Z``, ``5/S``, ``8/B``, ``U/V``), so a pupil types
what the card shows.  The codes frame ``student_id, code`` is the output the browser test needs;
:func:`hash_code` gives the salted SHA-256 that a platform stores instead of the code.
"""

from __future__ import annotations

import hashlib

import numpy as np
import polars as pl

from junheng.exceptions import ParameterError

ALPHABET = "34679ACDEFGHJKMNPQRTWXY"
CODE_LENGTH = 8  # 23^8 ≈ 7.8e10 codes


def login_codes(student_ids: pl.Series | list[str], *, random_state: int, length: int = CODE_LENGTH) -> pl.DataFrame:
    """``student_id, code``: one distinct random code per pupil (the same ids and seed give the same codes)."""
    ids = pl.Series("student_id", student_ids, dtype=pl.String)
    if ids.is_duplicated().any():
        raise ParameterError("学籍号重复，无法生成登录码 / duplicate student_id: cannot make login codes")
    if length < 6:
        raise ParameterError(f"登录码至少 6 位 / login codes need at least 6 characters; got {length}")
    rng = np.random.default_rng(random_state)
    alphabet = np.array(list(ALPHABET), dtype="<U1")
    n = ids.len()
    while True:  # redraw all on a (vanishingly rare) duplicate
        draw = np.ascontiguousarray(alphabet[rng.integers(0, len(alphabet), size=(n, length))])
        codes = draw.view(f"<U{length}").reshape(n)
        if len(np.unique(codes)) == n:
            break
    return pl.DataFrame({"student_id": ids, "code": pl.Series(codes, dtype=pl.String)})


def hash_code(code: str, salt: str) -> str:
    """The stored form of a login code: hex SHA-256 of ``salt + ':' + code`` (a salt per cycle or site)."""
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


__all__ = ["ALPHABET", "CODE_LENGTH", "hash_code", "login_codes"]
