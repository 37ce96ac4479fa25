"""Progress bars for long CLI work: one helper so every command shows progress the same way."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a progress bar on stderr (hidden when stderr is not a terminal and CI is set)."""
    yield from tqdm(items, desc=desc, total=total, unit=unit, dynamic_ncols=True, leave=False)


def bar(total: int, desc: str, unit: str = "it") -> tqdm:
    """A manual progress bar: ``with bar(n, '导入') as b: b.update(k)``."""
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)
