"""Source-name normalisation shared by the catalog readers and the gallery.

Two spellings of one name must give the same key: case, white space, underscores and
most punctuation are folded, while the characters that change a designation's meaning
(``+`` and ``-`` in coordinates, digits, letters) are kept. Unicode dashes and the minus
sign become ``-``.
"""
from __future__ import annotations

import re
import unicodedata

_DASHES = dict.fromkeys(map(ord, "\u2010\u2011\u2012\u2013\u2014\u2212\ufe63\uff0d"), "-")
_DROP = re.compile(r"[^0-9a-z+\-]")


def normalise_name(name: str) -> str:
    """Return the lookup key of a source name (``"1E 1740.7-2942"`` -> ``"1e17407-2942"``)."""
    text = unicodedata.normalize("NFKC", str(name)).translate(_DASHES).casefold()
    return _DROP.sub("", text)
