"""Progress bars for long CLI work: one helper so every command shows progress the same way."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")


def progress(items: Iterable[T], desc: str, total: int | None = None, unit: str = "it") -> Iterator[T]:
    """Iterate with a progress bar on stderr (hidden when stderr is not a terminal and CI is set)."""
    yield from tqdm(items, desc=desc, total=total, unit=unit, dynamic_ncols=True, leave=False)


def bar(total: int, desc: str, unit: str = "it") -> tqdm:
    """A manual progress bar: ``with bar(n, '导入') as b: b.update(k)``."""
    return tqdm(total=total, desc=desc, unit=unit, dynamic_ncols=True, leave=False)


@contextmanager
def fraction_bar(desc: str) -> Iterator[Callable[[float, str], None]]:
    """A 0–100 % bar driven by a service's ``progress(fraction, message)`` callback:
    ``with fraction_bar('导入') as report: import_pupils(path, progress=report)``."""
    with bar(100, desc, unit="%") as b:
        def report(fraction: float, message: str = "") -> None:
            b.n = max(b.n, min(100, int(fraction * 100)))
            if message:
                b.set_postfix_str(message, refresh=False)
            b.refresh()

        yield report
