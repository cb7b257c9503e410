"""A page's name derived from the title a colleague types (rules in README, "New pages").

Letters and digits of any script are kept with their case; every run of other characters
(spaces, punctuation, slashes) becomes one `-`; leading and trailing `-` go; the name is cut
to MAX_NAME_CHARS at a `-` when it can be. A taken name gets `-2`, `-3`, … — never the
existing page.
"""

import unicodedata

from wiki.errors import InvalidInput

MAX_NAME_CHARS = 80
MAX_TITLE_CHARS = 200
MAX_TRIES = 100


def derive_name(title: str) -> str:
    """`Meeting notes 5 Dec: Q&A` -> `Meeting-notes-5-Dec-Q-A`; InvalidInput when nothing of
    the title can make a name."""
    if not isinstance(title, str):
        raise InvalidInput("The title must be text.")
    title = unicodedata.normalize("NFC", title.strip())
    if len(title) > MAX_TITLE_CHARS:
        raise InvalidInput(f"A title can be at most {MAX_TITLE_CHARS} characters long.")
    out: list[str] = []
    for char in title:
        # Marks (accents written as combining characters) belong to the letter before them.
        if unicodedata.category(char)[0] in "LNM":
            out.append(char)
        elif out and out[-1] != "-":
            out.append("-")
    name = "".join(out).strip("-")
    if len(name) > MAX_NAME_CHARS:
        cut = name.rfind("-", 0, MAX_NAME_CHARS + 1)
        name = name[:cut] if cut > MAX_NAME_CHARS // 2 else name[:MAX_NAME_CHARS]
        name = name.strip("-")
    if not name:
        raise InvalidInput("The title needs at least one letter or digit to name the page.")
    return name


def available(name: str, taken) -> str:
    """`name`, or `name-2`, `name-3`, … : the first that `taken(name)` says is free."""
    if not taken(name):
        return name
    for number in range(2, MAX_TRIES + 2):
        candidate = f"{name}-{number}"
        if not taken(candidate):
            return candidate
    raise InvalidInput("Too many pages have this name already; choose another title.")
