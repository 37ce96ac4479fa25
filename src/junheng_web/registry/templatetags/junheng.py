"""``{% load junheng %}``: display filters of every app's pages (percentages, a dict value by a variable key, a figure's SE)."""

from django import template

from junheng_web.locale import in_language

register = template.Library()


@register.filter
def pct(value, digits: int = 1) -> str:
    """A proportion in [0, 1] as a percentage with one decimal (``0.9125`` → ``91.3%``); ``—`` when missing."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"


@register.filter
def split(value: str) -> list[str]:
    """``"a b c"|split`` → ``["a", "b", "c"]`` (a fixed list of keys in a template loop)."""
    return str(value).split()


@register.filter
def get(mapping, key: str):
    """``row|get:key`` — a dict value by a key held in a variable."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def get_se(mapping, key: str):
    """``row|get_se:key`` — the standard error ``<key>_se`` of a figure."""
    return mapping.get(f"{key}_se") if hasattr(mapping, "get") else None


@register.filter
def verdict_class(value) -> str:
    """The CSS class of a verdict: 达到 → ``v-yes``, 未达到 → ``v-no``, anything else → ``v-open``."""
    return {"达到": "v-yes", "未达到": "v-no", True: "v-yes", False: "v-no"}.get(value, "v-open")


@register.filter
def num(value, digits: int = 2) -> str:
    """A number with ``digits`` decimals; ``—`` when missing."""
    if value is None or value == "":
        return "—"
    return f"{float(value):.{int(digits)}f}"


register.filter("in_language", in_language)  # the part of a "中文 / English" text for the page's language


@register.filter
def startswith(value: str, prefix: str) -> bool:
    """``request.path|startswith:url`` — whether a page lies under a section (the current tab)."""
    return bool(prefix) and str(value).startswith(str(prefix))
