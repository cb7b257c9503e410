"""Page names: what is allowed, and how a name maps to a file in git.

A page `Team/Onboarding` is the file `Team/Onboarding.md`. Names keep the case their author
typed and are compared case-insensitively (`key`). Anything that could escape the repository
or confuse a reader is refused here, once, for every route.
"""

import re
import unicodedata

from wiki.errors import InvalidPath, InvalidRevision

PAGE_SUFFIX = ".md"
MAX_NAME_BYTES = 255
MAX_SEGMENT_BYTES = 255 - len(PAGE_SUFFIX)

# Bidi overrides/isolates and other invisible format characters (CVE-2021-42574 "Trojan
# Source") as well as every control character are refused.
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}
_FORBIDDEN_CHARS = set('\\:*?"<>|')
_HEX_REVISION = re.compile(r"[0-9a-f]{4,64}")
# Windows refuses these as file or folder names in any case and with any extension (`con.txt`,
# `Nul.tar.gz`): a clone there fails to check the whole wiki out (issue 12).
WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$",
                             *(f"COM{n}" for n in range(1, 10)),
                             *(f"LPT{n}" for n in range(1, 10))})


def normalize(name: str) -> str:
    """Return the canonical spelling of a page name, or raise InvalidPath.

    Leading and trailing slashes and surrounding spaces are dropped; a trailing `.md` is
    accepted and removed. The result is NFC.
    """
    if not isinstance(name, str):
        raise InvalidPath("A page name must be text.")
    name = unicodedata.normalize("NFC", name.strip().strip("/").strip())
    if name.lower().endswith(PAGE_SUFFIX):
        name = name[: -len(PAGE_SUFFIX)]
    if not name:
        raise InvalidPath("A page name cannot be empty.")
    if len(name.encode("utf-8")) + len(PAGE_SUFFIX) > MAX_NAME_BYTES:
        raise InvalidPath(f"A page name can be at most {MAX_NAME_BYTES - 3} bytes long.")
    for char in name:
        if char in _FORBIDDEN_CHARS:
            raise InvalidPath(f"A page name cannot contain {char!r}.")
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise InvalidPath("A page name cannot contain control or invisible characters.")
    segments = name.split("/")
    for segment in segments:
        if segment != segment.strip() or not segment:
            raise InvalidPath("A part of a page name cannot be empty or start or end with a space.")
        if segment.startswith("."):
            raise InvalidPath("A part of a page name cannot start with a dot.")
        if segment.lower() == ".git" or segment in {".", ".."}:
            raise InvalidPath("This page name is reserved.")
    return name


def check_new(name: str) -> str:
    """`normalize`, plus the rules for a name about to be created (a page, a folder or an
    attached file's path); InvalidPath says which rule a name breaks.

    Existing pages keep working under the looser `normalize`: a page pushed before these rules
    can still be read, edited, renamed to a better name and deleted (issue 12, item 5).
    """
    name = normalize(name)
    plain = unicodedata.normalize("NFKC", name)
    if plain != name:
        # Full-width letters (`ＨＲ`), ligatures, superscripts, … look like other names.
        raise InvalidPath(f"{name!r} is not in plain Unicode form (NFKC); write {plain!r} "
                          "instead: full-width letters, ligatures and similar variants look "
                          "like other names.")
    for segment in name.split("/"):
        if segment.endswith("."):
            raise InvalidPath(f"A part of a name cannot end with a dot ({segment!r}): Windows "
                              "drops the dot, so clones there break.")
        if device(segment):
            raise InvalidPath(f"{segment!r} is a device name on Windows (CON, PRN, AUX, NUL, "
                              "COM1–9, LPT1–9, also with an extension), so clones there "
                              "break; choose another name.")
    return name


def device(segment: str) -> bool:
    """Whether Windows reads this file or folder name as a device (`CON`, `com1.txt`)."""
    return segment.split(".", 1)[0].rstrip(" ").upper() in WINDOWS_DEVICES


def key(name: str) -> str:
    """The case-insensitive key under which a page name is unique."""
    return name.casefold()


def to_file(name: str) -> str:
    """The path of a page's file inside the repository."""
    return normalize(name) + PAGE_SUFFIX


def from_file(path: str) -> str | None:
    """The page name of a repository file, or None when the file is not a page."""
    if not path.endswith(PAGE_SUFFIX):
        return None
    try:
        return normalize(path[: -len(PAGE_SUFFIX)])
    except InvalidPath:
        return None


def namespace(name: str) -> str:
    """`Team/Onboarding` -> `Team`; a top-level page has the empty namespace."""
    return name.rpartition("/")[0]


def leaf(name: str) -> str:
    """`Team/Onboarding` -> `Onboarding`."""
    return name.rpartition("/")[2]


def revision(value: str) -> str:
    """Validate a revision from a user: a hex commit id or HEAD; never reaches git otherwise."""
    if not isinstance(value, str):
        raise InvalidRevision()
    value = value.strip()
    if value == "HEAD":
        return value
    if _HEX_REVISION.fullmatch(value.lower()):
        return value.lower()
    raise InvalidRevision()


def page_of_file(path: str) -> str | None:
    """The page a repository file is attached to (the folder it is in), or None when the file
    is a page itself or sits where no page could (at the top, or in a folder no page name can
    have: a pushed one, say)."""
    folder, _, name = path.rpartition("/")
    if not folder or not name or name.lower().endswith(PAGE_SUFFIX):
        return None
    try:
        return normalize(folder)
    except InvalidPath:
        return None
