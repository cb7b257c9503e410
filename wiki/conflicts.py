"""Edit conflicts as a colleague sees them: the merged text cut into agreed parts and
conflicting changes, each resolved by a choice (mine, theirs, both, or edited text).

`git merge-file` marks a conflict with `<<<<<<< yours`, `=======`, `>>>>>>> theirs` lines
(the labels `Pages` passes to `Repository.merge3`). Text still holding such a block that the
stored page did not already hold is an unresolved conflict: saving it would publish the
markers (issue 13), so `Pages.save` refuses it unless the caller says it means it.
"""

import re
from dataclasses import dataclass

OPEN = "<<<<<<< yours"
MIDDLE = "======="
CLOSE = ">>>>>>> theirs"
CHOICES = ("mine", "theirs", "both", "edit")

_BLOCK = re.compile(r"^<<<<<<< yours[ \t]*\n(?:.*\n)*?=======[ \t]*\n(?:.*\n)*?"
                    r">>>>>>> theirs[ \t]*$", re.MULTILINE)


@dataclass(frozen=True)
class Part:
    """Agreed text (`theirs` is None) or one conflicting change."""

    mine: str
    theirs: str | None = None

    @property
    def conflict(self) -> bool:
        return self.theirs is not None


def marker_blocks(text: str) -> int:
    """How many complete conflict blocks (as merge3 writes them) the text holds."""
    if OPEN not in text:  # the common case costs one substring search
        return 0
    return len(_BLOCK.findall(text if text.endswith("\n") else text + "\n"))


def unresolved(text: str, stored: str = "") -> bool:
    """True when `text` holds conflict blocks the stored page did not hold already (a page
    that documents git's markers may keep its examples)."""
    return marker_blocks(text) > marker_blocks(stored)


def parse(merged: str) -> list[Part]:
    """Cut merge3's output into parts. A block that is not closed stays agreed text."""
    parts: list[Part] = []
    plain: list[str] = []
    lines = merged.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        if lines[i].rstrip() == OPEN:
            middle = next((j for j in range(i + 1, len(lines))
                           if lines[j].rstrip() == MIDDLE), None)
            close = next((j for j in range(middle + 1, len(lines))
                          if lines[j].rstrip() == CLOSE), None) if middle else None
            if middle is not None and close is not None:
                if plain:
                    parts.append(Part("".join(plain)))
                    plain = []
                parts.append(Part("".join(lines[i + 1:middle]),
                                  "".join(lines[middle + 1:close])))
                i = close + 1
                continue
        plain.append(lines[i])
        i += 1
    if plain:
        parts.append(Part("".join(plain)))
    return parts


def resolve(part: Part, choice: str, edited: str = "") -> str:
    """The text one conflicting change becomes under a choice; unknown choices keep both."""
    if not part.conflict:
        return part.mine
    if choice == "mine":
        return part.mine
    if choice == "theirs":
        return part.theirs or ""
    if choice == "edit":
        edited = edited.replace("\r\n", "\n").replace("\r", "\n")
        return edited if not edited or edited.endswith("\n") else edited + "\n"
    return both(part)


def both(part: Part) -> str:
    """Mine, then theirs (each part ends with a newline, so lines never run together)."""
    return part.mine + (part.theirs or "")
