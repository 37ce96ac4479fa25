"""One error hierarchy for the whole of junheng.

::

    JunhengError                      anything junheng raises on purpose
    ├── InputError                    a file or table a person supplied is wrong; carries every issue
    ├── ParameterError (ValueError)   a function or command was called with a bad parameter
    ├── ReferenceDataError            shipped reference data (a standard's table) is missing or inconsistent
    └── EstimationError               a model or estimator could not produce a sound result
        └── ConvergenceError          an iterative fit stopped before meeting its criterion

Validation has one convention. A *reader* (``junheng.io.read_table``) raises ``InputError`` only
for a file it cannot read at all (damaged, over the size limits, unknown encoding). A
*validator* of a file's rows (``validate_pupils``, ``validate_responses``,
``junheng.fitness.check_upload`` …) never raises for a bad row: it returns ``(frame, issues)``,
one :class:`Issue` per bad cell. The *caller* that reads and validates (``read_fitness_file``, a
web service, a CLI command) raises one ``InputError`` carrying every issue — :func:`raise_for`
— and sets its ``annotated_path`` when it writes the marked-up copy of the file.

The CLI and the web turn any ``JunhengError`` into a message for a person; a traceback reaches a
user only for a bug.  Messages are bilingual: Chinese first, then English, separated by `` / ``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Issue:
    """One problem found in an input: where it is, what was there, which rule it breaks.

    ``row`` is the spreadsheet row a person sees (1-based, header rows counted), or ``None``
    for a problem with the file as a whole (a missing column, an unreadable file).
    """

    rule_zh: str
    rule_en: str
    file: str | None = None
    sheet: str | None = None
    row: int | None = None
    column: str | None = None
    value: object = None
    severity: Severity = "error"

    def location_zh(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"工作表 {self.sheet}")
        if self.row is not None:
            parts.append(f"第{self.row}行")
        if self.column:
            parts.append(self.column)
        return " ".join(parts)

    def location_en(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.sheet:
            parts.append(f"sheet {self.sheet}")
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)

    def message(self) -> str:
        """``第14行 性别: 应为 1 或 2，实际为 '男性' / Row 14, column 性别: must be 1 or 2; got '男性'``."""
        got_zh = "" if self.value is None else f"，实际为 '{self.value}'"
        got_en = "" if self.value is None else f"; got '{self.value}'"
        loc_zh, loc_en = self.location_zh(), self.location_en()
        zh = f"{loc_zh}: {self.rule_zh}{got_zh}" if loc_zh else f"{self.rule_zh}{got_zh}"
        en = f"{loc_en}: {self.rule_en}{got_en}" if loc_en else f"{self.rule_en}{got_en}"
        if not self.file:  # "Row 14, …" — but a file name keeps its own case
            en = en[:1].upper() + en[1:]
        return f"{zh} / {en}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "value": None if self.value is None else str(self.value),
            "rule_zh": self.rule_zh,
            "rule_en": self.rule_en,
            "severity": self.severity,
            "message": self.message(),
        }


class JunhengError(Exception):
    """Base of every error junheng raises on purpose."""


class InputError(JunhengError):
    """Input a person supplied is wrong. Carries *every* issue found, not just the first.

    ``annotated_path`` is the copy of the rejected file with the bad cells marked (written by the
    service that rejected it, :func:`junheng.io.annotate_workbook`), or ``None``.
    """

    annotated_path: Path | None

    def __init__(self, issues: list[Issue] | Issue, summary: str | None = None, *,
                 annotated_path: str | Path | None = None):
        self.issues: list[Issue] = [issues] if isinstance(issues, Issue) else list(issues)
        self.annotated_path = Path(annotated_path) if annotated_path else None
        errors = [i for i in self.issues if i.severity == "error"]
        if summary is None:
            n = len(errors)
            summary = f"输入有 {n} 处错误 / the input has {n} error(s)"
        self.summary = summary
        head = "\n".join(i.message() for i in errors[:20])
        more = f"\n… (+{len(errors) - 20})" if len(errors) > 20 else ""
        super().__init__(f"{summary}\n{head}{more}")

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]


class ParameterError(JunhengError, ValueError):
    """A function or command was called with a parameter outside its declared constraints."""


class ReferenceDataError(JunhengError):
    """Shipped reference data is missing or inconsistent (a packaging bug, not a user error)."""


class EstimationError(JunhengError):
    """A model or estimator could not produce a sound result."""


class ConvergenceError(EstimationError):
    """An iterative fit stopped before meeting its convergence criterion."""


@dataclass
class Issues:
    """A collector used while validating: add issues, then ``raise_if_errors()`` once at the end."""

    items: list[Issue] = field(default_factory=list)

    def add(self, issue: Issue) -> None:
        self.items.append(issue)

    def extend(self, issues: list[Issue]) -> None:
        self.items.extend(issues)

    @property
    def has_errors(self) -> bool:
        return any(i.severity == "error" for i in self.items)

    def raise_if_errors(self, summary: str | None = None) -> None:
        """One :class:`InputError` carrying every issue (warnings too) when any is an error."""
        raise_for(self.items, summary)


def raise_for(issues: list[Issue], summary: str | None = None, *, annotated_path: str | Path | None = None) -> None:
    """The one way a caller turns a validator's issues into an error: raise one
    :class:`InputError` carrying all of them when any is an error; warnings alone pass."""
    if any(i.severity == "error" for i in issues):
        raise InputError(issues, summary, annotated_path=annotated_path)


__all__ = [
    "ConvergenceError",
    "EstimationError",
    "InputError",
    "Issue",
    "Issues",
    "JunhengError",
    "ParameterError",
    "ReferenceDataError",
    "raise_for",
]
