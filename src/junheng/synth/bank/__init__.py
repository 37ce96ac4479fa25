"""An original grade-6 item bank for the demo and the tests: real-looking content per subject
(语文, 数学, 英语, 科学) that ``junheng.synth.synth_tests`` puts on its item slots, so the pupil's
page, the booklets and the scoring are exercised as they will be on test day.

Each subject module has items written by hand — a reading passage with its questions, a table, a
picture (``figures``), numeric entry, short constructed responses with a scoring rubric — and
families of items made from lists (idioms, antonyms, word problems with varied numbers, science
classifications, English grammar with varied words), enough to fill every slot of the synthetic
test without a repeat.  All content is written for this project.

An item's content (``Content``) is one of three kinds:

* ``choice`` — four options, the right one first (``synth_tests`` puts it at the key letter it
  draws, so the item parameters and keys keep their distributions);
* ``number`` — numeric entry: a ``constructed`` item with a ``key`` (the value), scored 0/1
  (``junheng_web.delivery.services.auto_mark`` marks the typed number);
* ``constructed`` — a short written answer scored 0/1/2 by people against ``rubric``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Content:
    kind: str  # "choice" | "number" | "constructed"
    stem: str
    options: tuple[str, ...] = ()  # choice: the right option first, then three distractors
    key: str | None = None  # number: the value
    rubric: tuple[str, ...] = ()  # constructed: what earns 0, 1, 2 points
    media: tuple[str, ...] = ()  # data: URIs (figures.py)
    domain: str = ""  # the subject's content domain (synth.responses.DOMAINS)


NUMBER_RUBRIC = ("答案错误或未作答", "答案正确")


def number(stem: str, value, domain: str = "", media: tuple[str, ...] = ()) -> Content:
    """Numeric entry: the value written in its plain decimal form."""
    text = f"{value:.10f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)
    return Content("number", stem, key=text, rubric=NUMBER_RUBRIC, media=media, domain=domain)


def choice(stem: str, right: str, wrong: list[str] | tuple[str, ...], domain: str = "",
           media: tuple[str, ...] = ()) -> Content:
    """Four options: the right one and the first three distinct wrong ones."""
    seen, distractors = {right}, []
    for w in wrong:
        if w not in seen:
            seen.add(w)
            distractors.append(w)
    if len(distractors) < 3:
        raise ValueError(f"a choice item needs three distinct distractors: {stem}")
    return Content("choice", stem, options=(right, *distractors[:3]), media=media, domain=domain)


def constructed(stem: str, rubric: tuple[str, str, str], domain: str = "", media: tuple[str, ...] = ()) -> Content:
    return Content("constructed", stem, rubric=rubric, media=media, domain=domain)


class ContentPool:
    """The items of one subject in the order ``synth_tests`` takes them: the hand-written ones
    first, then the list-made ones shuffled by ``random_state``.  ``take("choice")`` serves the
    choice slots (choice and numeric entry), ``take("constructed")`` the constructed ones; when a
    kind runs out (a test larger than the demo's), ``None``."""

    def __init__(self, subject: str, random_state: int) -> None:
        from junheng.synth.bank import chinese, english, maths, science

        module = {"语文": chinese, "数学": maths, "英语": english, "科学": science}[subject]
        rng = np.random.default_rng(random_state)
        written: list[Content] = module.written()
        made: list[Content] = module.made(rng)
        order = rng.permutation(len(made))
        made = [made[k] for k in order]
        self._queues = {slot: [c for c in written + made if (c.kind == "constructed") == (slot == "constructed")]
                        for slot in ("choice", "constructed")}
        self._next = {"choice": 0, "constructed": 0}

    def take(self, slot: str) -> Content | None:
        queue, k = self._queues[slot], self._next[slot]
        if k >= len(queue):
            return None
        self._next[slot] = k + 1
        return queue[k]

