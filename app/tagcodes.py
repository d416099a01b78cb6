"""Tag codes: short, unguessable, typeable identifiers printed on QR stickers.

Codes use Crockford's base 32 (no I, L, O or U), ten characters for 50 random bits. What people type is
folded before lookup: case is ignored, O reads as 0, I and L read as 1, and spaces and dashes are dropped.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
LENGTH = 10
_FOLD = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"})
_NOISE = re.compile(r"[\s\-_.]+")
# A sticker's QR carries BASE_URL/t/<code>; what it names ends at the query, the fragment or a trailing slash.
_TAG_URL_END = re.compile(r"[?#/]")


def new_tag_code() -> str:
    """A fresh random code of LENGTH characters from ALPHABET."""
    return "".join(secrets.choice(ALPHABET) for _ in range(LENGTH))


def scanned_value(text: str) -> str:
    """What a scanned or typed text names: the part after the last /t/ up to the first ?, # or /, else the whole
    text; trimmed, case kept (tests/cases/scanned_values.json is the contract, shared with the JavaScript)."""
    raw = (text or "").strip()
    if "/t/" in raw:
        raw = _TAG_URL_END.split(raw.rsplit("/t/", 1)[1], maxsplit=1)[0].strip()
    return raw


def normalise(typed: str) -> str:
    """Fold a typed or scanned code to its canonical spelling (it may still be unknown)."""
    return _NOISE.sub("", typed or "").upper().translate(_FOLD)


def looks_like_code(text: str) -> bool:
    """True when text, once folded, could be a tag code."""
    folded = normalise(text)
    return len(folded) == LENGTH and all(c in ALPHABET for c in folded)


def pretty(code: str) -> str:
    """The code as printed on a sticker: two groups of five, easier to read aloud and type."""
    return f"{code[:5]}-{code[5:]}" if len(code) == LENGTH else code
