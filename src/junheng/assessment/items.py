"""The item bank: items as frozen dataclasses, the bank as a validated collection and a frame.

An item is one scored unit of an academic test. Three formats:

* ``single_choice`` — one key among the options (``key="B"``); scored 0/1.
* ``multiple_choice`` — a set of keys (``key="AC"``); full credit for exactly the key set; with
  ``max_score=2`` a response that picks some keys and no wrong option earns 1 (partial credit).
* ``constructed`` — scored 0..``max_score`` by people against a rubric (one description per score
  point); the raw response is the score code given by the scorer.  A constructed item with a
  ``key`` is *numeric entry*: the pupil types a number, which is marked against the key by machine
  (the browser test's export, ``junheng_web.delivery.services.auto_mark``: 1 when equal, else 0)
  or by a scorer on paper; the raw response is again the score code.

Any item may carry a ``score_map`` (raw code → score) that overrides the format's rule, e.g.
two-digit diagnostic codes ``{"20": 2, "21": 2, "10": 1, "70": 0, "79": 0}`` as TIMSS uses them.

The JSON form is ``{"schema": "junheng.itembank/1", "items": [ {...}, ... ]}``; ``load_bank``
validates every item and reports every problem at once (``InputError``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from itertools import combinations
from pathlib import Path

import polars as pl

from junheng.exceptions import InputError, Issue, Issues

SCHEMA = "junheng.itembank/1"
SUBJECTS = ("语文", "数学", "英语", "科学")
FORMATS = ("single_choice", "multiple_choice", "constructed")
STATUSES = ("draft", "trial", "operational", "anchor", "retired")
COGNITIVE_LEVELS = ("了解", "理解", "应用", "综合")  # knowing, understanding, applying, integrating
OPTION_LETTERS = "ABCDEFGH"


@dataclass(frozen=True, slots=True)
class Usage:
    """One use of an item: the cycle (year), booklet/block, and optionally its observed statistics."""

    year: int
    block: str | None = None
    booklet: str | None = None
    p_value: float | None = None
    n: int | None = None


@dataclass(frozen=True, slots=True)
class Item:
    """One item of the bank (see the module docstring for the formats and scoring rules)."""

    item_id: str
    subject: str
    format: str
    max_score: int = 1
    key: str | None = None
    options: tuple[str, ...] = ()  # option texts, lettered A, B, C … in order
    rubric: tuple[str, ...] = ()  # constructed: description of score 0, 1, …, max_score
    score_map: tuple[tuple[str, int], ...] = ()  # raw code → score, overrides the format rule
    stem: str = ""
    content_domain: str = ""
    cognitive_level: str = ""
    status: str = "draft"
    usage: tuple[Usage, ...] = ()
    media: tuple[str, ...] = ()  # relative paths or URIs of images/audio

    @property
    def option_letters(self) -> str:
        return OPTION_LETTERS[: len(self.options)]

    def score_table(self) -> dict[str, int]:
        """Every admissible raw code with its score (the map used by vectorised scoring)."""
        if self.score_map:
            return dict(self.score_map)
        if self.format == "single_choice":
            return {letter: int(letter == self.key) for letter in self.option_letters}
        if self.format == "multiple_choice":
            key = set(self.key or "")
            table: dict[str, int] = {}
            letters = self.option_letters
            for r in range(1, len(letters) + 1):
                for combo in combinations(letters, r):
                    chosen = set(combo)
                    if chosen == key:
                        score = self.max_score
                    elif self.max_score >= 2 and chosen < key:
                        score = 1  # some keys, nothing wrong: partial credit
                    else:
                        score = 0
                    table["".join(combo)] = score
            return table
        return {str(s): s for s in range(self.max_score + 1)}

    def to_json(self) -> dict:
        d = asdict(self)
        d["score_map"] = dict(self.score_map)
        d["options"] = list(self.options)
        d["rubric"] = list(self.rubric)
        d["media"] = list(self.media)
        d["usage"] = [{k: v for k, v in asdict(u).items() if v is not None} for u in self.usage]
        return {k: v for k, v in d.items() if v not in ("", (), [], {}, None)}


def _issue(where: str, zh: str, en: str, value: object = None, file: str | None = None) -> Issue:
    return Issue(rule_zh=zh, rule_en=en, file=file, column=where, value=value)


def validate_item(d: dict, where: str, file: str | None = None) -> tuple[Item | None, list[Issue]]:
    """Check one JSON item; return the ``Item`` (or ``None``) and every issue found."""
    issues: list[Issue] = []

    def bad(fieldname: str, zh: str, en: str, value: object = None) -> None:
        issues.append(_issue(f"{where}.{fieldname}", zh, en, value, file))

    if not isinstance(d, dict):
        return None, [_issue(where, "题目应为 JSON 对象", "an item must be a JSON object", type(d).__name__, file)]
    known = set(Item.__dataclass_fields__)
    for k in d:
        if k not in known:
            bad(k, "未知字段", "unknown field", k)
    item_id = d.get("item_id")
    if not isinstance(item_id, str) or not item_id.strip():
        bad("item_id", "题目编号必填", "item_id is required", item_id)
    subject = d.get("subject")
    if subject not in SUBJECTS:
        bad("subject", f"学科应为 {'/'.join(SUBJECTS)} 之一", f"subject must be one of {', '.join(SUBJECTS)}", subject)
    fmt = d.get("format")
    if fmt not in FORMATS:
        bad("format", f"题型应为 {'/'.join(FORMATS)} 之一", f"format must be one of {', '.join(FORMATS)}", fmt)
    max_score = d.get("max_score", 1)
    if not isinstance(max_score, int) or isinstance(max_score, bool) or not 1 <= max_score <= 20:
        bad("max_score", "满分应为 1–20 的整数", "max_score must be an integer 1–20", max_score)
        max_score = 1
    options = d.get("options", [])
    if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
        bad("options", "选项应为字符串列表", "options must be a list of strings", options)
        options = []
    key = d.get("key")
    score_map = d.get("score_map", {})
    if not isinstance(score_map, dict) or not all(
            isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= max_score for v in score_map.values()):
        bad("score_map", "计分表应为 {原始代码: 0..满分}", "score_map must map raw codes to 0..max_score", score_map)
        score_map = {}
    if fmt in ("single_choice", "multiple_choice") and not score_map:
        if not 2 <= len(options) <= len(OPTION_LETTERS):
            bad("options", "选择题应有 2–8 个选项", "a choice item needs 2–8 options", len(options))
        letters = OPTION_LETTERS[: len(options)]
        if not isinstance(key, str) or not key or any(ch not in letters for ch in key) or len(set(key)) != len(key):
            bad("key", f"答案应为选项字母 {letters}", f"key must be option letters among {letters}", key)
        elif fmt == "single_choice" and len(key) != 1:
            bad("key", "单选题只有一个答案", "a single-choice item has exactly one key", key)
        elif fmt == "multiple_choice":
            key = "".join(sorted(key))
        if fmt == "single_choice" and max_score != 1:
            bad("max_score", "单选题满分为 1", "a single-choice item scores 0/1", max_score)
        if fmt == "multiple_choice" and max_score > 2:
            bad("max_score", "多选题满分为 1 或 2", "a multiple-choice item scores at most 2", max_score)
    rubric = d.get("rubric", [])
    if fmt == "constructed":
        if not isinstance(rubric, list) or (rubric and len(rubric) != max_score + 1):
            bad("rubric", "评分标准应逐一描述 0..满分 各分数", "rubric must describe each score 0..max_score",
                len(rubric) if isinstance(rubric, list) else rubric)
            rubric = []
    status = d.get("status", "draft")
    if status not in STATUSES:
        bad("status", f"状态应为 {'/'.join(STATUSES)} 之一", f"status must be one of {', '.join(STATUSES)}", status)
    cog = d.get("cognitive_level", "")
    if cog and cog not in COGNITIVE_LEVELS:
        bad("cognitive_level", f"认知水平应为 {'/'.join(COGNITIVE_LEVELS)} 之一",
            f"cognitive_level must be one of {', '.join(COGNITIVE_LEVELS)}", cog)
    usage: list[Usage] = []
    for j, u in enumerate(d.get("usage", []) or []):
        try:
            usage.append(Usage(**u))
            if not isinstance(u.get("year"), int):
                raise TypeError
        except TypeError:
            bad(f"usage[{j}]", "使用记录应含整数 year", "a usage record needs an integer year", u)
    media = d.get("media", [])
    if not isinstance(media, list) or not all(isinstance(m, str) for m in media):
        bad("media", "媒体应为路径列表", "media must be a list of paths", media)
        media = []
    for k in ("stem", "content_domain"):
        if k in d and not isinstance(d[k], str):
            bad(k, "应为文本", "must be text", d[k])
    if issues:
        return None, issues
    item = Item(
        item_id=item_id.strip(), subject=subject, format=fmt, max_score=max_score, key=key,
        options=tuple(options), rubric=tuple(rubric), score_map=tuple((str(k), v) for k, v in score_map.items()),
        stem=d.get("stem", ""), content_domain=d.get("content_domain", ""), cognitive_level=cog,
        status=status, usage=tuple(usage), media=tuple(media),
    )
    return item, []


@dataclass(frozen=True)
class ItemBank:
    """An ordered collection of items with unique ids."""

    items: tuple[Item, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        seen: set[str] = set()
        dup = [i.item_id for i in self.items if i.item_id in seen or seen.add(i.item_id)]
        if dup:
            raise InputError([_issue("item_id", "题目编号重复", "duplicate item_id", d) for d in dup])

    def __iter__(self) -> Iterator[Item]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, item_id: str) -> Item:
        for it in self.items:
            if it.item_id == item_id:
                return it
        raise KeyError(item_id)

    def subset(self, ids: Iterable[str]) -> ItemBank:
        want = set(ids)
        return ItemBank(tuple(i for i in self.items if i.item_id in want))

    def for_subject(self, subject: str) -> ItemBank:
        return ItemBank(tuple(i for i in self.items if i.subject == subject))

    def to_frame(self) -> pl.DataFrame:
        """One row per item: ``item_id, subject, format, max_score, key, n_options, content_domain,
        cognitive_level, status, n_uses``."""
        return pl.DataFrame(
            {
                "item_id": [i.item_id for i in self.items],
                "subject": [i.subject for i in self.items],
                "format": [i.format for i in self.items],
                "max_score": [i.max_score for i in self.items],
                "key": [i.key for i in self.items],
                "n_options": [len(i.options) for i in self.items],
                "content_domain": [i.content_domain for i in self.items],
                "cognitive_level": [i.cognitive_level for i in self.items],
                "status": [i.status for i in self.items],
                "n_uses": [len(i.usage) for i in self.items],
            },
            schema={"item_id": pl.String, "subject": pl.String, "format": pl.String, "max_score": pl.Int32,
                    "key": pl.String, "n_options": pl.Int32, "content_domain": pl.String,
                    "cognitive_level": pl.String, "status": pl.String, "n_uses": pl.Int32},
        )

    def score_frame(self) -> pl.DataFrame:
        """The scoring key as a long frame ``item_id, raw, score`` (every admissible raw code)."""
        ids, raws, scores = [], [], []
        for it in self.items:
            for raw, s in it.score_table().items():
                ids.append(it.item_id)
                raws.append(raw)
                scores.append(s)
        return pl.DataFrame({"item_id": ids, "raw": raws, "score": scores},
                            schema={"item_id": pl.String, "raw": pl.String, "score": pl.Int32})

    def to_json(self) -> dict:
        return {"schema": SCHEMA, "items": [i.to_json() for i in self.items]}


def bank_from_json(data: object, file: str | None = None) -> ItemBank:
    """Validate a parsed JSON document and build the bank; every problem is reported together."""
    issues = Issues()
    if not isinstance(data, dict) or data.get("schema") != SCHEMA or not isinstance(data.get("items"), list):
        raise InputError(_issue("schema", f"应为 {{\"schema\": \"{SCHEMA}\", \"items\": [...]}}",
                                f"expected {{\"schema\": \"{SCHEMA}\", \"items\": [...]}}",
                                data.get("schema") if isinstance(data, dict) else type(data).__name__, file))
    items: list[Item] = []
    seen: set[str] = set()
    for i, d in enumerate(data["items"]):
        item, found = validate_item(d, f"items[{i}]", file)
        issues.extend(found)
        if item is not None:
            if item.item_id in seen:
                issues.add(_issue(f"items[{i}].item_id", "题目编号重复", "duplicate item_id", item.item_id, file))
            seen.add(item.item_id)
            items.append(item)
    issues.raise_if_errors()
    return ItemBank(tuple(items))


def load_bank(path: str | Path) -> ItemBank:
    """Read an item bank from JSON (``.json``) or from a QTI 3.0 package folder / ``.zip``."""
    path = Path(path)
    if path.suffix.lower() != ".json":
        from junheng.assessment.qti import read_qti

        return read_qti(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(Issue(rule_zh="无法读取 JSON 题库文件", rule_en="cannot read the JSON item-bank file",
                               file=path.name, value=str(exc)[:120])) from None
    return bank_from_json(data, path.name)


def save_bank(bank: ItemBank, path: str | Path) -> Path:
    """Write the bank as JSON (UTF-8, Chinese kept readable)."""
    path = Path(path)
    path.write_text(json.dumps(bank.to_json(), ensure_ascii=False, indent=1), encoding="utf-8")
    return path
