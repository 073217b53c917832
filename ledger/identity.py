"""Who a competitor is: a stable id, and names compared as the same text in Unicode.

A competitor has an id inside the ledger, given when its first result is recorded, and
optionally a federation's own athlete id (an ISU or FIS code). Its name is an attribute: it
is stored as first written and can be corrected (``ledger rename``) without touching results.

Names are compared in a canonical form: Unicode NFKC (composed and decomposed accents, full-
width letters and ligatures become one text), invisible characters removed (zero-width spaces,
joiners, a byte-order mark, soft hyphens), and whitespace collapsed to single spaces. Case is
kept: names that differ only in case, or by look-alike letters from different scripts (a
Cyrillic 'а' for a Latin 'a'), are different texts, which ``ledger check`` points out.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache
from uuid import NAMESPACE_URL, uuid5

_NAMESPACE = uuid5(NAMESPACE_URL, "https://results-ledger.org/ids/competitors")
_INVISIBLE = frozenset({"Cf", "Cc"})


@lru_cache(maxsize=1 << 14)
def canonical(name: str) -> str:
    """A name as compared: NFKC, no invisible characters, single spaces, no outer spaces."""
    if name.isascii() and name.isprintable() and "  " not in name:
        return name.strip()  # the common case needs no normalisation
    text = unicodedata.normalize("NFKC", name)
    text = "".join(c for c in text if unicodedata.category(c) not in _INVISIBLE or c.isspace())
    return " ".join(text.split())


_LINE_BREAKS = frozenset("\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
# Embeddings, overrides and isolates reorder how the text around them is shown (a name that
# reads as another, "Trojan Source"): refused, where other invisible characters are dropped.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def written(name: str) -> str:
    """A name as stored: as written, but without invisible characters (a zero-width space, a
    soft hyphen, a byte-order mark) and with each run of spacing (a tab, a no-break space, two
    spaces) one space, so that it prints as it reads. A line break, a control character or a
    bidirectional override (which reorders how a name is shown) is damage, not spelling:
    ValueError."""
    if name.isprintable() and "  " not in name:
        return name.strip()
    kept = []
    for char in name:
        category = unicodedata.category(char)
        if char in _BIDI_CONTROLS:
            raise ValueError(f"contains a bidirectional override (U+{ord(char):04X})")
        if category == "Cf":
            continue
        if char in _LINE_BREAKS:
            raise ValueError("contains a line break")
        if char.isspace():
            kept.append(" ")
        elif category == "Cc":
            raise ValueError(f"contains a control character (U+{ord(char):04X})")
        else:
            kept.append(char)
    return " ".join("".join(kept).split())


@lru_cache(maxsize=1 << 14)
def folded(name: str) -> str:
    """A canonical name without case, for finding what a user typed (``bai qiuming``)."""
    return canonical(name).casefold()


@lru_cache(maxsize=1 << 14)
def competitor_id(name: str, nation: str | None, salt: str = "") -> str:
    """The id a new competitor gets: from its canonical name and nation (and a salt, when a
    renamed competitor's former name is taken by someone new), as 32 hex digits."""
    key = f"{canonical(name)}|{nation or ''}" + (f"|{salt}" if salt else "")
    return uuid5(_NAMESPACE, key).hex


def athlete_competitor_id(athlete_id: str) -> str:
    """The id of a competitor first recorded with a federation's athlete id."""
    return uuid5(_NAMESPACE, f"athlete:{athlete_id}").hex


def legacy_competitor_id(name: str, nation: str | None) -> str:
    """The id of a competitor recorded before competitors had ids: from the name exactly as
    written (such ledgers told 'Chloé' composed and decomposed apart, and still do)."""
    return uuid5(_NAMESPACE, f"{name}|{nation or ''}").hex


# Letters of other scripts drawn like Latin ones: the common homoglyphs of Cyrillic and Greek.
_LOOK_ALIKES = str.maketrans(
    {
        "а": "a", "в": "b", "е": "e", "к": "k", "м": "m", "н": "h", "о": "o", "р": "p",
        "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ј": "j", "ԁ": "d",
        "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P",
        "С": "C", "Т": "T", "У": "Y", "Х": "X", "Ѕ": "S", "І": "I", "Ј": "J",
        "α": "a", "ο": "o", "ρ": "p", "ν": "v", "τ": "t", "ι": "i", "κ": "k", "υ": "u",
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
    }
)  # fmt: skip


@lru_cache(maxsize=1 << 14)
def skeleton(name: str) -> str:
    """What a name looks like: canonical, look-alike letters mapped to Latin, case folded.

    Two names with the same skeleton but different canonical forms look the same to a reader
    and are still two competitors: worth a warning."""
    return canonical(name).translate(_LOOK_ALIKES).casefold()


def scripts(name: str) -> frozenset[str]:
    """The scripts a name's letters come from (LATIN, CYRILLIC, GREEK, ...)."""
    found = set()
    for char in name:
        if char.isalpha():
            found.add(unicodedata.name(char, "UNKNOWN").split(" ")[0])
    return frozenset(found)
