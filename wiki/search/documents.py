"""What goes into the index: the schema and the documents built from pages, discussion threads
and attached files.

Three kinds of documents share the index: pages, discussion threads (`thread:<id>`, kept
current by a Discussions listener, synchronously) and attached files (`file:<path>`, their
text extracted by wiki/extract.py, kept current by the same catch-up from git as pages). A
thread or file carries its page's name as `path` and the page itself among its namespaces, so
the one read filter built for pages covers them exactly as it covers their page.

A page's name, title and text go into one field per language, `all_<lang>` (see
wiki/search/analysis.py); its title, headings and name also go into the small `title_<lang>`,
`headings_<lang>` and `name` fields that relevance gives a bonus for (wiki/search/ranking.py).
"""

import html
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from whoosh.analysis import RegexTokenizer
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema

from wiki import paths
from wiki.search.analysis import LANGS, SECTION, Analysis, WordPositions

log = logging.getLogger(__name__)

SCHEMA_VERSION = "kennis-search-6"  # bump when fields or analysis change: forces a rebuild
KINDS = ("page", "discussion", "attachment", "question")
# Keys of threads and files; page keys never hold a colon (wiki/paths.py refuses it).
THREAD_PREFIX = "thread:"
FILE_PREFIX = "file:"
QUESTION_PREFIX = "question:"
MAX_TEXT_CHARS = 100_000  # of a page's plain text kept for snippets


def schema(analysis: Analysis) -> Schema:
    fields_ = {
        "key": ID(unique=True, stored=True),
        "path": STORED(),
        "title": STORED(),
        "text": STORED(),
        "lang": ID(stored=True),
        "kind": ID(stored=True, sortable=True),
        "ref": STORED(),  # the thread id or the file's repository path
        "ns": ID(stored=True, sortable=True),
        # Every namespace a page is in (`a`, `a/b` for `a/b/c`), case-folded: namespace
        # filters and permission rules are one term each instead of a prefix expansion.
        "within": TEXT(analyzer=RegexTokenizer(r"[^\n]+"), phrase=False),
        "tags": KEYWORD(stored=True, lowercase=True, scorable=False),
        "author": TEXT(analyzer=analysis.simple, stored=True, phrase=True),
        "author_id": ID(sortable=True),
        "updated": DATETIME(stored=True, sortable=True),
        "name": TEXT(analyzer=analysis.simple),
        "spell": TEXT(analyzer=analysis.simple, phrase=False),
        "suggest": TEXT(analyzer=analysis.simple, phrase=False),
    }
    for lang in LANGS:
        fields_[f"all_{lang}"] = TEXT(analyzer=analysis.whole[lang])
        fields_[f"all_{lang}"].format = WordPositions()
        fields_[f"title_{lang}"] = TEXT(analyzer=analysis.lang[lang])
        fields_[f"headings_{lang}"] = TEXT(analyzer=analysis.lang[lang])
    return Schema(**fields_)


_ANCHOR = re.compile(r'<a class="anchor"[^>]*>[^<]*</a>')
_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|li|h\d|pre|blockquote|tr|td|th|div)>|<br\s*/?>", re.I)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NAME_PUNCTUATION = re.compile(r"[._+()-]+")


def sections(*texts: str) -> str:
    """The value of `all_<lang>`: the texts, each a section (phrases do not span two)."""
    return f" {SECTION} ".join(t.replace(SECTION, " ") for t in texts)


def _plain(html_text: str) -> str:
    """Text of sanitized HTML (our own renderer's output), blocks kept on their own lines."""
    text = _BLOCK_END.sub("\n", _ANCHOR.sub("", html_text))
    text = html.unescape(_TAG.sub("", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class Page:
    key: str
    name: str
    blob: str
    author: str
    updated: datetime


def _ancestors(key: str) -> list[str]:
    parts = key.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def naive_utc(value: datetime) -> datetime:
    return _aware(value).astimezone(UTC).replace(tzinfo=None)



class Documents:
    """Builds the document of a page, a thread or an attached file (plain dicts of fields)."""

    def __init__(self, renderer, catalog, default_language: str):
        self.renderer = renderer
        self.catalog = catalog
        self.default_language = default_language
        self.attachments = None  # wiki.attachments.Attachments: the text of attached files

    def page(self, page: Page, text: str) -> dict:
        rendered = self.renderer.render(text, cache_key=page.blob)
        lang = rendered.lang if rendered.lang in LANGS else self.default_language
        title = rendered.title or paths.leaf(page.name)
        plain = _plain(rendered.html)
        headings = "\n".join(h.text for h in rendered.toc)
        namespace = page.name.split("/", 1)[0] if "/" in page.name else ""
        leaf = paths.leaf(page.name)
        doc = {
            "key": page.key, "path": page.name, "title": title, "text": plain[:MAX_TEXT_CHARS],
            "lang": lang, "kind": "page", "ns": namespace, "tags": " ".join(rendered.tags),
            "within": "\n".join(_ancestors(page.key)),  # names never hold a newline
            "author": page.author, "author_id": page.author,
            "updated": naive_utc(page.updated), "name": page.name.replace("/", " "),
            "spell": f"{title}\n{headings}\n{plain}", "suggest": f"{title} {leaf}",
            f"title_{lang}": title, f"headings_{lang}": headings,
            f"all_{lang}": sections(page.name.replace("/", " "), title, plain),
        }
        return doc

    def _page_lang(self, page: str, langs: dict[str, str] | None = None) -> str:
        """The language of a page (for its threads and files): front matter, else default."""
        if langs is not None:
            lang = langs.get(paths.key(page))
        else:
            info = self.catalog.page(page)
            lang = info.lang if info else None
        return lang if lang in LANGS else self.default_language

    def _attached(self, page: str, lang: str, title: str, text: str, author: str,
                  updated: datetime | None) -> dict:
        """The fields a thread and a file share: they sit in their page (permissions, `ns:`
        filters) and are found by their title and text."""
        page_key = paths.key(page)
        doc = {
            "path": page, "title": title, "text": text[:MAX_TEXT_CHARS], "lang": lang,
            "ns": page.split("/", 1)[0] if "/" in page else "",
            "within": "\n".join([*_ancestors(page_key), page_key]),
            "spell": f"{title}\n{text}", f"title_{lang}": title,
            f"all_{lang}": sections(title, text),
        }
        if author:
            doc["author"] = doc["author_id"] = author
        if updated is not None:
            doc["updated"] = naive_utc(updated)
        return doc

    def thread(self, thread, langs: dict[str, str] | None = None) -> dict:
        """A discussion thread (wiki.discussions.ThreadDocument): its comments as text."""
        text = _plain(self.renderer.render(thread.text).html) if thread.text else ""
        doc = self._attached(thread.page_name, self._page_lang(thread.page_name, langs),
                             thread.title, text, "", thread.updated)
        return {**doc, "key": f"{THREAD_PREFIX}{thread.id}", "kind": "discussion",
                "ref": str(thread.id)}

    def question(self, question) -> dict:
        """A question (wiki.questions.QuestionDocument) with its answers as text. It sits in
        its namespace (`within`), so the read filter treats it like the namespace's pages; a
        solved one shows "Answered" and the accepted answer's first lines as its text."""
        lang = self.default_language
        text = _plain(self.renderer.render(question.text).html) if question.text else ""
        key = paths.key(question.namespace) if question.namespace else ""
        shown = text
        if question.accepted:
            answer = _plain(self.renderer.render(question.accepted).html)
            shown = "Answered: " + " ".join(answer.split("\n")[:3])
        doc = {
            "key": f"{QUESTION_PREFIX}{question.id}", "kind": "question",
            "ref": str(question.id), "path": question.namespace, "title": question.title,
            "text": shown[:MAX_TEXT_CHARS], "lang": lang,
            "ns": question.namespace.split("/", 1)[0],
            "within": "\n".join([*_ancestors(key), key]) if key else "",
            "tags": " ".join(question.tags), "author": question.author,
            "author_id": question.author, "updated": naive_utc(question.updated),
            "spell": f"{question.title}\n{text}", f"title_{lang}": question.title,
            f"all_{lang}": sections(question.title, text),
        }
        return doc

    def file(self, path: str, blob: str, author: str, updated: datetime | None,
                       langs: dict[str, str] | None = None) -> dict:
        """An attached file: its name, and its text when it has some. A file whose text
        cannot be extracted (a damaged or hostile document, a type we do not read) is still
        found by its name."""
        page, _, name = path.rpartition("/")
        text = ""
        try:
            document = self.attachments.document(path, blob, name)  # type: ignore[union-attr]
            text = document.text if document is not None else ""
        except Exception:  # extraction is best effort; indexing must go on
            log.warning("no text from the attached file %s", path, exc_info=True)
        lang = self._page_lang(page, langs)
        doc = self._attached(page, lang, name, text, author, updated)
        # The tokenizer keeps `budget-2026.pdf` whole (like `example.org`): index the name
        # both whole and as its words.
        words = f"{name} {_NAME_PUNCTUATION.sub(' ', name)}"
        return {**doc, "key": FILE_PREFIX + path, "kind": "attachment", "ref": path,
                "name": words, f"title_{lang}": words, f"all_{lang}": sections(words, text)}

    # --- threads (from the database, not from git) ---------------------------------------
