"""Front matter edited in place: title, tags and language set line by line, so every other
byte of the file (unknown keys, comments, spacing, the body) stays exactly as it was and
setting a field to the value it has changes nothing.

Reading the values is render.py's job (`split_front_matter`); this module writes lines.
"""

import json
import re
from dataclasses import dataclass

from wiki.render import split_front_matter

_KEY_LINE = r"^{key}[ \t]*:.*$"
_PLAIN = re.compile(r"[\w][\w .,()'/+&-]*")
_RESERVED_START = re.compile(r"^(?:[-?:,\[\]{}#&*!|>'\"%@`]|yes$|no$|true$|false$|null$|~$|"
                             r"on$|off$|[0-9])", re.IGNORECASE)


def split(text: str) -> tuple[str, str]:
    """(front matter block with its `---` lines, the rest). No block: ("", text).
    split(text) joined is always text."""
    if not text.startswith("---"):
        return "", text
    first_end = text.find("\n")
    if first_end < 0 or text[:first_end].rstrip("\r \t") != "---":
        return "", text
    match = re.compile(r"^---[ \t]*\r?$", re.MULTILINE).search(text, first_end + 1)
    if match is None:
        return "", text
    end = match.end()
    if end < len(text) and text[end] == "\n":
        end += 1
    return text[:end], text[end:]


def scalar(value: str) -> str:
    """A YAML scalar for a value: plain when it reads back the same, else a JSON string
    (JSON strings are YAML)."""
    if _PLAIN.fullmatch(value) and not _RESERVED_START.match(value) and ": " not in value \
            and " #" not in value and value == value.strip():
        return value
    return json.dumps(value, ensure_ascii=False)


def flow_list(values: list[str]) -> str:
    return "[" + ", ".join(scalar(v) for v in values) + "]"


def set_field(text: str, key: str, rendered: str | None) -> str:
    """Set the top-level `key: rendered` line (a YAML value already rendered), remove it when
    `rendered` is None. Nested or multi-line values of that key are replaced whole."""
    block, body = split(text)
    if not block:
        if rendered is None:
            return text
        return f"---\n{key}: {rendered}\n---\n" + ("\n" if body and not body.startswith("\n")
                                                   else "") + body
    lines = block.splitlines(keepends=True)
    pattern = re.compile(_KEY_LINE.format(key=re.escape(key)))
    for index, line in enumerate(lines[1:-1], start=1):
        if pattern.match(line.rstrip("\r\n")):
            # The value may go on in indented lines or list items below it.
            stop = index + 1
            while stop < len(lines) - 1 and (lines[stop][:1] in (" ", "\t") or
                                             lines[stop].startswith("- ")):
                stop += 1
            ending = "\r\n" if line.endswith("\r\n") else "\n"
            new = [] if rendered is None else [f"{key}: {rendered}{ending}"]
            if "".join(lines[index:stop]) == "".join(new):
                return text
            return "".join(lines[:index] + new + lines[stop:]) + body
    if rendered is None:
        return text
    return "".join(lines[:-1]) + f"{key}: {rendered}\n" + lines[-1] + body


@dataclass(frozen=True)
class Fields:
    """What the editor shows: the block (kept for every other key), the body, and the
    title, tags and language as the form's fields display them."""

    block: str
    body: str
    title: str
    tags: str
    lang: str


def _shown(value) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    if value is None or isinstance(value, dict):
        return ""
    return str(value)


def fields(text: str) -> Fields:
    block, body = split(text)
    meta, _ = split_front_matter(block) if block else ({}, "")
    if block and not meta and block.strip("-\r\n \t"):
        # Not YAML the renderer reads: leave it alone as part of the text.
        return Fields("", text, "", "", "")
    return Fields(block, body, _shown(meta.get("title")), _shown(meta.get("tags")),
                  _shown(meta.get("lang")))


def compose(block: str, body: str, title: str, tags: str, lang: str) -> str:
    """The page's text from the editor's parts; a field equal to what the block shows is
    left untouched, so a save without change gives back the same bytes."""
    shown = fields(block + body) if block else Fields("", body, "", "", "")
    text = block + body
    title, tags, lang = (" ".join(v.split()) for v in (title, tags, lang))
    if title != " ".join(shown.title.split()):
        text = set_field(text, "title", scalar(title) if title else None)
    if tags != " ".join(shown.tags.split()):
        items = [t.strip() for t in tags.split(",") if t.strip()]
        text = set_field(text, "tags", flow_list(items) if items else None)
    if lang != shown.lang.strip():
        text = set_field(text, "lang", scalar(lang) if lang else None)
    return text
