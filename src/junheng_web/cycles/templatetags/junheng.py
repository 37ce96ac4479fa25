from django import template

register = template.Library()


@register.filter
def pct(value, digits: int = 1) -> str:
    """A proportion in [0, 1] as a percentage with one decimal (``0.9125`` → ``91.3%``); ``—`` when missing."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f}%"
