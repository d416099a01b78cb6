"""Google's partial-response `fields` syntax: `a,b(c,d/e),f/g` parsed into a tree and applied to JSON."""

from __future__ import annotations

from typing import Any

# A mask: field name → its own mask, or None for the whole value.
Mask = dict[str, "Mask | None"]


def _merge(into: Mask, name: str, sub: Mask | None) -> None:
    if name in into and into[name] is not None and sub is not None:
        for k, v in sub.items():
            _merge(into[name], k, v)  # type: ignore[arg-type]
    else:
        into[name] = None if name in into and into[name] is None else sub


def _path(mask: Mask, parts: list[str], sub: Mask | None) -> None:
    head, rest = parts[0], parts[1:]
    if not rest:
        _merge(mask, head, sub)
        return
    child: Mask = {}
    _path(child, rest, sub)
    _merge(mask, head, child)


def parse_mask(text: str) -> Mask | None:
    """The tree of a fields parameter; None (everything) when it is empty. ValueError on unbalanced brackets."""
    text = text.replace(" ", "")
    if not text:
        return None
    mask, pos = _parse(text, 0)
    if pos != len(text):
        raise ValueError(f"Unbalanced fields mask: {text!r}")
    return mask


def _parse(text: str, pos: int) -> tuple[Mask, int]:
    mask: Mask = {}
    name = ""
    while pos < len(text):
        ch = text[pos]
        if ch == "(":
            sub, pos = _parse(text, pos + 1)
            if pos >= len(text) or text[pos] != ")":
                raise ValueError("Unbalanced fields mask")
            _path(mask, name.split("/"), sub)
            name = ""
            pos += 1
            if pos < len(text) and text[pos] == ",":
                pos += 1
            continue
        if ch == ")":
            break
        if ch == ",":
            if name:
                _path(mask, name.split("/"), None)
            name = ""
        else:
            name += ch
        pos += 1
    if name:
        _path(mask, name.split("/"), None)
    return mask, pos


def apply_mask(value: Any, mask: Mask | None) -> Any:
    """The parts of value the mask names (lists are masked item by item)."""
    if mask is None:
        return value
    if isinstance(value, list):
        return [apply_mask(item, mask) for item in value]
    if not isinstance(value, dict):
        return value
    return {k: apply_mask(value[k], sub) for k, sub in mask.items() if k in value}
