"""The query language users type: a small whitelisted grammar, parsed without Whoosh.

Users never write Whoosh syntax: `parse` reads words, "phrases", OR, -exclude, prefix* and the
filters tag: ns: path: author: since: kind: title: heading: body:; everything else is text.
"""

import re
from dataclasses import dataclass

MAX_QUERY_CHARS = 500
MAX_CLAUSES = 24
MIN_PREFIX = 2
TEXT_FIELDS = ("title", "headings", "body")  # what `title:` `heading:` `body:` may name
QUESTION_MIN_WORDS = 4  # from this many words besides stop words on, a query is a question
# Words that open a question: with one of them (or a "?") two words make a question.
QUESTION_WORDS = frozenset(re.findall(r"\w+",
    "how what when where why who which whom can could should would do does did is are may "
    "hoe wat wanneer waar waarom wie welke welk kan kun kunt kunnen mag moet moeten is zijn "
    "wordt hebben heb"))
FILTER_ALIASES = {"tag": "tag", "tags": "tag", "ns": "ns", "namespace": "ns", "path": "ns",
                  "prefix": "ns", "author": "author", "since": "since", "title": "title",
                  "heading": "headings", "headings": "headings", "body": "body",
                  "kind": "kind"}


@dataclass(frozen=True)
class Filters:
    """UI filters; the same as `tag:` `ns:` `author:` `since:` `kind:` in the query text."""

    tag: str = ""
    prefix: str = ""
    author: str = ""
    since: str = ""
    kind: str = ""


@dataclass
class Clause:
    kind: str  # word, phrase, prefix, filter
    text: str
    negate: bool = False
    field: str = ""  # for filters: tag ns author since title headings body
    raw: str = ""  # the text as typed (for "did you mean")


_TOKEN = re.compile(r'(-?)(?:(\w+):)?"([^"]*)"?|(\S+)')


def parse(text: str) -> list[list[Clause]]:
    """The query as OR-groups of clauses (a group of one is a plain AND term).

    Whitelisted syntax only; anything else (`--force`, `$(rm -rf)`, `HEAD~1`, `a:b`) is text.
    """
    text = text[:MAX_QUERY_CHARS]
    clauses: list[Clause | str] = []
    for match in _TOKEN.finditer(text):
        neg, fname, phrase, word = match.groups()
        if phrase is not None:
            kind_field = FILTER_ALIASES.get((fname or "").lower(), "")
            if fname and not kind_field:
                clauses.append(Clause("word", fname, raw=fname))
            if kind_field and kind_field not in TEXT_FIELDS:
                clauses.append(Clause("filter", phrase, bool(neg), kind_field, raw=phrase))
            else:
                clauses.append(Clause("phrase", phrase, bool(neg), kind_field, raw=phrase))
            continue
        if word == "OR":
            clauses.append("OR")
            continue
        # `-draft` excludes; `--force` and `-9` are text (quote "rm -rf" to find an option).
        negate = word.startswith("-") and len(word) > 1 and word[1].isalpha()
        body = word[1:] if negate else word
        name, sep, value = body.partition(":")
        kind_field = FILTER_ALIASES.get(name.lower()) if sep and value else None
        if kind_field in TEXT_FIELDS:
            clauses.append(Clause("prefix" if value.endswith("*") else "word",
                                  value.rstrip("*"), negate, kind_field, raw=value))
        elif kind_field:
            clauses.append(Clause("filter", value, negate, kind_field, raw=value))
        elif sep and name and value and name.isalpha():
            # `key:notes` names no field users may search: it is the two words.
            clauses += [Clause("word", name, negate, raw=name),
                        Clause("word", value, negate, raw=value)]
        elif body.endswith("*") and len(body.rstrip("*")) >= MIN_PREFIX:
            clauses.append(Clause("prefix", body.rstrip("*"), negate, raw=body))
        else:
            clauses.append(Clause("word", body, negate, raw=body))
    if clauses and all(isinstance(c, str) or c.negate for c in clauses):
        # Only exclusions (a query like `-rf`) would match nothing: read it as text.
        for c in clauses:
            if not isinstance(c, str):
                c.negate = False
    groups: list[list[Clause]] = []
    join = False
    for c in clauses:
        if c == "OR":
            join = bool(groups)
            continue
        assert isinstance(c, Clause)
        if join and not c.negate and not groups[-1][0].negate and c.kind != "filter" \
                and groups[-1][0].kind != "filter":
            groups[-1].append(c)
        else:
            groups.append([c])
        join = False
    return groups[:MAX_CLAUSES]


def is_question(text: str, groups: list[list[Clause]], stops: frozenset[str]) -> bool:
    """Whether a query reads as a question, ranked by relevance over all its words, rather
    than as keywords, of which every one is required first.

    A question is plain words (filters and exclusions aside): four or more that are not stop
    words, or two or more after a question word or before a "?". Syntax (a phrase, OR, a
    prefix, a field) says the user wants exactly what they typed: keywords."""
    words = []
    for group in groups:
        c = group[0]
        if c.kind == "filter" or c.negate:
            continue
        if len(group) > 1 or c.kind != "word" or c.field:
            return False
        words.append(c.text.lower())
    content = [w for w in words if w not in stops and w not in QUESTION_WORDS]
    if len(content) >= QUESTION_MIN_WORDS:
        return True
    cue = bool(words) and words[0] in QUESTION_WORDS or text.rstrip().endswith("?")
    return cue and len(content) >= 2
