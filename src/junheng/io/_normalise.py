"""Cell normalisation shared by every reader: what a person typed → the string a validator sees.

Full-width ASCII (U+FF01–U+FF5E) becomes half-width (U+0021–U+007E), the ideographic space
U+3000 and the no-break space U+00A0 become spaces, zero-width characters go, and leading and
trailing white space is stripped; an empty cell is null. Everything is a Polars expression, so
a column of a million cells is normalised in one pass.
"""

from __future__ import annotations

import re

import polars as pl

_FULL = [chr(c) for c in range(0xFF01, 0xFF5F)] + ["\u3000", "\u00a0", "\u200b", "\u200c", "\u200d", "\ufeff",
                                                   "\u2002", "\u2003", "\u2009", "\t", "\r", "\n"]
_HALF = [chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)] + [" ", " ", "", "", "", "", " ", " ", " ", " ", " ", " "]


def normalise_expr(expr: pl.Expr) -> pl.Expr:
    """Full-width → half-width, odd spaces → space, stripped; empty → null (a string expression)."""
    e = expr.str.replace_many(_FULL, _HALF).str.strip_chars()
    return pl.when(e.str.len_bytes() == 0).then(None).otherwise(e)


# a cell :func:`normalise_expr` changes: one of the mapped characters, white space at either end, or empty
_CHANGES = ("[" + "".join(re.escape(c) for c in _FULL) + r"]|^\s|\s$")


def normalise_frame(frame: pl.DataFrame) -> pl.DataFrame:
    """:func:`normalise_expr` on every string column.

    Nearly every cell of a real file is unchanged by it, so one parallel scan of all columns
    finds the cells it would change and only those are rewritten (a million-row file: a scan,
    not a hundred replacements per cell)."""
    cols = [c for c, t in frame.schema.items() if t == pl.String]
    if not cols or frame.height == 0:
        return frame.with_columns(normalise_expr(pl.col(c)).alias(c) for c in cols)
    flags = frame.select((pl.col(c).str.contains(_CHANGES) | (pl.col(c).str.len_bytes() == 0)).fill_null(False)
                         .alias(c) for c in cols)
    changed = [c for c, n in zip(cols, flags.select(pl.all().sum()).row(0)) if n]
    out = []
    for c in changed:
        idx = flags[c].arg_true()
        fixed = frame[c].gather(idx).to_frame("v").select(normalise_expr(pl.col("v"))).to_series()
        out.append(frame[c].clone().scatter(idx, fixed))
    return frame.with_columns(out) if out else frame


_KEY_RE = re.compile(r"[\s_\-（）()【】\[\]:：*＊]+")


def header_key(text: object) -> str:
    """The form under which headers are compared: half-width, no spaces/brackets/underscores, case folded."""
    if text is None:
        return ""
    s = str(text).translate(_TRANSLATE)
    return _KEY_RE.sub("", s).casefold()


_TRANSLATE = str.maketrans(dict(zip(_FULL, _HALF)))


def normalise_text(text: object) -> str | None:
    """:func:`normalise_expr` for one Python value (headers, small lookups)."""
    if text is None:
        return None
    s = str(text).translate(_TRANSLATE).strip()
    return s or None
