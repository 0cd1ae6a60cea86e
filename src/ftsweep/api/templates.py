"""The `{{ item.<field> }}` and `{{ sample.<field> }}` templates in a grader's strings.

A template reads a field of the dataset item or of the sampled output; `sample` has only the
fields in SAMPLE_FIELDS. Templates are checked when a grader is read, never rendered here.
"""

from __future__ import annotations

import re

__all__ = ["SAMPLE_FIELDS", "check_templates", "references"]

SAMPLE_FIELDS = ("output_text", "output_json", "output_tools", "choices", "output_audio")

_TEMPLATE = re.compile(r"\{\{\s*(.*?)\s*\}\}")
_REFERENCE = re.compile(r"([A-Za-z_]\w*)\.([A-Za-z_]\w*)")


def references(text: str) -> list[str]:
    """Every template in `text`, as written inside the braces: ['item.answer', ...]."""
    return _TEMPLATE.findall(text)


def _check_reference(reference: str) -> None:
    template = "{{ " + reference + " }}"
    found = _REFERENCE.match(reference)
    if found is None:
        raise ValueError(f"template '{template}' must read item.<field> or sample.<field>")
    namespace, field = found.groups()
    if namespace not in ("item", "sample"):
        raise ValueError(f"template '{template}' uses '{namespace}'; only item and sample exist")
    if namespace == "sample" and field not in SAMPLE_FIELDS:
        allowed = ", ".join(SAMPLE_FIELDS)
        raise ValueError(f"template '{template}' reads sample.{field}; sample has only {allowed}")


def check_templates(text: str) -> str:
    """Return `text`, or raise ValueError at its first template that reads no allowed field."""
    for reference in references(text):
        _check_reference(reference)
    return text
