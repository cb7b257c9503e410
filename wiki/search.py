"""Full-text search: the one door to Whoosh (`whoosh-reloaded`, imported as `whoosh`).

The index is derived data in `settings.index`: a symlink `current` points at one generation
folder `gen-…`, which holds the Whoosh index and a small file with the commit it reflects.
`rebuild()` writes a fresh generation from git and swaps the symlink (atomic); `catch_up()`
applies the commits `recorded..HEAD`. A catalog listener calls `catch_up()` after every
catch-up of the catalog, so a page is findable as soon as its save returns.

Three kinds of documents share the index: pages, discussion threads (`thread:<id>`, kept
current by a Discussions listener, synchronously) and attached files (`file:<path>`, their
text extracted by wiki/extract.py, kept current by the same catch-up from git as pages). A
thread or file carries its page's name as `path` and the page itself among its namespaces, so
the one read filter built for pages covers them exactly as it covers their page.

Pages are analysed in their own language (front matter `lang`, else the wiki's default) with a
snowball stemmer and accent folding, and a query is analysed for both languages. A word is
matched in one field per language, `all_<lang>`, which holds a page's name, title and text (and
for Dutch pages the leading and trailing parts of long compound words, at a low weight; see
README: "Search" for what that catches). Relevance adds a bonus for the word in the title,
headings or name, from the small `title_<lang>`, `headings_<lang>` and `name` fields: so a
two-word search intersects four posting lists, not sixteen, and the title still wins.

Users never write Whoosh syntax: `_parse` reads a small whitelisted grammar (words, "phrases",
OR, -exclude, prefix*, tag: ns: path: author: since: title: heading: body:) and everything else
is text. Read permissions are a Whoosh `filter` built from `Permissions.read_filter`, so totals,
facets, suggestions, snippets and pages only ever count what the caller may read.
"""

import bisect
import contextlib
import gc
import html
import itertools
import logging
import os
import pickle
import re
import shutil
import struct
import threading
import time
import uuid
import warnings
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from whoosh import collectors, formats, highlight, index, scoring, sorting
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
)
from whoosh.fields import DATETIME, ID, KEYWORD, STORED, TEXT, Schema
from whoosh.lang import stopwords_for_language
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.query import (
    And,
    DateRange,
    Every,
    Not,
    NullQuery,
    Or,
    Phrase,
    Prefix,
    Query,
    Require,
    Term,
)
from whoosh.support.charset import accent_map

from wiki import paths
from wiki.errors import InvalidPath, RepositoryBusy
from wiki.locks import file_lock
from wiki.permissions import Permissions
from wiki.users import Account

log = logging.getLogger(__name__)

SCHEMA_VERSION = "kennis-search-6"  # bump when fields or analysis change: forces a rebuild
MERGE_AFTER_SEGMENTS = 8  # a save merges index segments only once this many have piled up
COLLECT_AFTER_WRITES = 8  # index writes between full garbage collections
LANGS = ("en", "nl")
COMMIT_FILE = "kennis-commit"
# While a rebuild runs, thread changes are noted here (by any process) and applied to the new
# generation after the swap: threads live in the database, not in git, so the recorded commit
# cannot catch them up.
THREAD_JOURNAL = "threads-changed"
KINDS = ("page", "discussion", "attachment")
# Keys of threads and files; page keys never hold a colon (wiki/paths.py refuses it).
THREAD_PREFIX = "thread:"
FILE_PREFIX = "file:"
CURRENT = "current"
# A wiki this small is (re)built inline, in well under a second; larger ones in a thread while
# search answers "indexing".
INLINE_REBUILD_PAGES = 500
WRITER_TIMEOUT = 120.0  # seconds a writer waits for another process's writer (never fails fast)
BATCH = 500  # blobs read from git at once during a rebuild
MAX_TEXT_CHARS = 100_000  # of a page's plain text kept for snippets
SNIPPET_CHARS = 220
HIGHLIGHT_CHARS = 20_000  # hits are looked for this far into a page
MAX_QUERY_CHARS = 500
MAX_CLAUSES = 24
MIN_PREFIX = 2
COMPOUND_MIN = 8  # Dutch words at least this long are split into parts
COMPOUND_PART = 4  # shortest part kept
PART_WEIGHT = 0.3  # a compound's part counts this much of a whole word
PART_BASE = 1 << 20  # parts follow the text from this position on, two apart: no phrase
# uses them, and they do not count in a page's length
SECTION = "\x1e"  # separates the name, title and text in `all_<lang>` (takes a position,
# so no phrase spans two)
FEW_RESULTS = 3  # at most this many results: look for "did you mean"
PARTIAL_MIN = 20  # partial matches: pages with the most words, fewer words until this many
QUESTION_CLAUSES = 4  # from this many words on, count words per page before any AND
# What reading a damaged index raises (a bad compressed block, a short read, a broken
# pickle): always a rebuild, even when other parts of the index still read fine.
DAMAGE = (zlib.error, struct.error, EOFError, OSError, pickle.UnpicklingError)
FACETS = (("namespace", "ns", False), ("tag", "tags", True), ("author", "author_id", False),
          ("kind", "kind", False))  # (name, field, several values per document)
# Relevance: a word in the title counts far more than one in the text (a bonus on top of the
# score in `all_<lang>`).
BONUS = {"title": 6.0, "name": 4.0, "headings": 2.0}
TEXT_FIELDS = ("title", "headings", "body")  # what `title:` `heading:` `body:` may name
FIELD_OF = {"title": "title", "headings": "headings", "body": "all"}  # body: is the whole text
FILTER_ALIASES = {"tag": "tag", "tags": "tag", "ns": "ns", "namespace": "ns", "path": "ns",
                  "prefix": "ns", "author": "author", "since": "since", "title": "title",
                  "heading": "headings", "headings": "headings", "body": "body",
                  "kind": "kind"}


# --- values returned to callers -------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    path: str
    title: str
    snippet: str  # sanitized HTML: escaped text with <mark> around hits
    score: float
    updated: datetime | None
    kind: str
    namespace: str
    tags: tuple[str, ...]
    author: str
    thread_id: int | None = None  # kind "discussion": the thread (path is its page)
    file_path: str = ""  # kind "attachment": the file in the repository (path is its page)


@dataclass(frozen=True)
class Results:
    query: str
    total: int
    hits: tuple[Hit, ...]
    suggestion: str | None = None  # "did you mean", as a whole corrected query
    partial: bool = False  # no page had every word; these are the best partial matches
    indexing: bool = False  # the index is being built; try again shortly
    facets: dict[str, tuple[tuple[str, int], ...]] = field(default_factory=dict)
    offset: int = 0
    limit: int = 20


@dataclass(frozen=True)
class Suggestion:
    title: str
    path: str


@dataclass(frozen=True)
class Filters:
    """UI filters; the same as `tag:` `ns:` `author:` `since:` `kind:` in the query text."""

    tag: str = ""
    prefix: str = ""
    author: str = ""
    since: str = ""
    kind: str = ""


# --- analysis --------------------------------------------------------------------------------

def _stoplist(lang: str) -> frozenset[str]:
    return frozenset(w.translate(accent_map) for w in stopwords_for_language(lang))


class _Analysis:
    """The analyzers, built once per Search (nothing happens at import)."""

    def __init__(self):
        self.stops = {lang: _stoplist(lang) for lang in LANGS}
        self.all_stops = frozenset().union(*self.stops.values())
        base = RegexTokenizer() | LowercaseFilter() | CharsetFilter(accent_map)
        self.simple = base
        self.lang = {lang: base | StopFilter(stoplist=self.stops[lang], minsize=1)
                     | StemFilter(lang=lang, cachesize=50_000) for lang in LANGS}
        # The same words, without the SECTION marks; Dutch adds compound parts.
        sectioned = RegexTokenizer(rf"\w+(\.?\w+)*|{SECTION}") | LowercaseFilter() \
            | CharsetFilter(accent_map)
        self.whole = {}
        for lang in LANGS:
            chain = sectioned | StopFilter(stoplist=self.stops[lang], minsize=1) | _Sections()
            if lang == "nl":
                chain = chain | _CompoundParts()
            self.whole[lang] = chain | StemFilter(lang=lang, cachesize=50_000)
        self.marking = {lang: _MarkingTokens(self.lang[lang]) for lang in LANGS}
        self.accent_map = accent_map

    def fold(self, word: str) -> str:
        return word.lower().translate(self.accent_map)

    def terms(self, analyzer, text: str) -> list[str]:
        return [t.text for t in analyzer(text, mode="query")]


class _MarkingTokens:
    """For highlighting: the words of a text with their offsets and their index term (stop
    words marked stopped), like `analyzer` but in one step, each word analysed once."""

    WORD = re.compile(r"\w+(\.?\w+)*")  # RegexTokenizer's default
    MEMO = 100_000

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.memo: dict[str, str] = {}

    def __call__(self, value, chars=False, mode="", **kwargs):
        memo, analyzer = self.memo, self.analyzer
        t = Token(chars=chars, removestops=False, mode=mode)
        for match in self.WORD.finditer(value):
            word = match.group(0)
            term = memo.get(word)
            if term is None:
                term = next((x.text for x in analyzer(word, mode="query")), "")
                if len(memo) < self.MEMO:
                    memo[word] = term
            t.text, t.boost, t.stopped = term, 1.0, not term
            t.startchar, t.endchar = match.start(), match.end()
            yield t


class _Sections(Filter):
    """Drop the SECTION marks; each keeps its position (the stop filter before renumbers
    positions and counts it), so the words around it are never adjacent."""

    def __call__(self, tokens):
        for t in tokens:
            if t.text != SECTION:
                yield t


class _CompoundParts(Filter):
    """After the text, the leading and trailing parts of its long Dutch words at a low weight
    (the stemmer that follows stems them), so that `kennis` and `deling` find `kennisdeling`.

    The parts come after every word, from PART_BASE on, each word's parts two positions after
    the last word's: positions stay in order (Whoosh's phrase matcher needs that), no phrase
    is made of parts or of a part and a word, and `_WordPositions` leaves them out of the
    length. No dictionary: it also matches non-compounds that happen to start or end alike
    (documented in the README), which is why a part weighs little."""

    def __call__(self, tokens):
        pending: list[list[str]] = []
        t = None
        for t in tokens:
            word = t.text
            yield t
            if t.mode == "query" or len(word) < COMPOUND_MIN or not word.isalpha():
                continue
            cuts = range(COMPOUND_PART, len(word) - COMPOUND_PART + 1)
            pending.append(sorted({word[:i] for i in cuts} | {word[i:] for i in cuts}))
        if t is None:
            return
        for number, parts in enumerate(pending):
            t.boost = PART_WEIGHT
            if t.positions:
                t.pos = PART_BASE + 2 * number
            for part in parts:
                t.text = part
                yield t


class _WordPositions(formats.Positions):
    """Whoosh's Positions, except that a page's length counts its words only: the compound
    parts (from PART_BASE on) would make a page of long Dutch words look long to BM25."""

    def word_values(self, value, analyzer, **kwargs):
        poses: dict[str, list[int]] = defaultdict(list)
        weights: dict[str, float] = defaultdict(float)
        kwargs["positions"] = True
        kwargs["boosts"] = True
        for t in formats.tokens(value, analyzer, kwargs):
            positions = poses[t.text]
            if positions and positions[-1] == t.pos:
                continue  # two parts of a word that stem alike count once
            positions.append(t.pos)
            weights[t.text] += t.boost
        for word, positions in poses.items():
            words = bisect.bisect_left(positions, PART_BASE)
            yield word, words, weights[word] * self.field_boost, self.encode(positions)


def _schema(analysis: _Analysis) -> Schema:
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
        fields_[f"all_{lang}"].format = _WordPositions()
        fields_[f"title_{lang}"] = TEXT(analyzer=analysis.lang[lang])
        fields_[f"headings_{lang}"] = TEXT(analyzer=analysis.lang[lang])
    return Schema(**fields_)


# --- documents -------------------------------------------------------------------------------

_ANCHOR = re.compile(r'<a class="anchor"[^>]*>[^<]*</a>')
_TAG = re.compile(r"<[^>]*>")
_BLOCK_END = re.compile(r"</(p|li|h\d|pre|blockquote|tr|td|th|div)>|<br\s*/?>", re.I)
_SPACES = re.compile(r"[ \t\r\f\v]+")
_NAME_PUNCTUATION = re.compile(r"[._+()-]+")


def _sections(*texts: str) -> str:
    """The value of `all_<lang>`: the texts, each a section (phrases do not span two)."""
    return f" {SECTION} ".join(t.replace(SECTION, " ") for t in texts)


def _plain(html_text: str) -> str:
    """Text of sanitized HTML (our own renderer's output), blocks kept on their own lines."""
    text = _BLOCK_END.sub("\n", _ANCHOR.sub("", html_text))
    text = html.unescape(_TAG.sub("", text))
    lines = (_SPACES.sub(" ", line).strip() for line in text.split("\n"))
    return "\n".join(line for line in lines if line)


@dataclass(frozen=True)
class _Page:
    key: str
    name: str
    blob: str
    author: str
    updated: datetime


def _ancestors(key: str) -> list[str]:
    parts = key.split("/")[:-1]
    return ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]


def _file_page(path: str) -> str | None:
    """The page a repository file is attached to (the folder it is in), or None when the
    file is a page or sits outside any page's folder (see wiki/attachments.py)."""
    folder, _, name = path.rpartition("/")
    if not folder or not name or name.lower().endswith(paths.PAGE_SUFFIX):
        return None
    try:
        return paths.normalize(folder)
    except InvalidPath:  # a pushed folder no page could have
        return None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _naive_utc(value: datetime) -> datetime:
    return _aware(value).astimezone(UTC).replace(tzinfo=None)


class _QuietLeaks:
    """Whoosh leaves a damaged index's files open when it fails to read them. Within this
    block such files are closed by a garbage collection once the error is handled (only when
    `leaked()` was called), instead of warning at some later moment."""

    def __init__(self):
        self._catch = warnings.catch_warnings()
        self._leaked = False

    def leaked(self) -> None:
        self._leaked = True

    def __enter__(self):
        self._catch.__enter__()
        warnings.simplefilter("ignore", ResourceWarning)
        return self

    def __exit__(self, *exc):
        try:
            if self._leaked:
                gc.collect()
        finally:
            self._catch.__exit__(*exc)
        return False


# --- the query language ----------------------------------------------------------------------

@dataclass
class _Clause:
    kind: str  # word, phrase, prefix, filter
    text: str
    negate: bool = False
    field: str = ""  # for filters: tag ns author since title headings body
    raw: str = ""  # the text as typed (for "did you mean")


_TOKEN = re.compile(r'(-?)(?:(\w+):)?"([^"]*)"?|(\S+)')


def _parse(text: str) -> list[list[_Clause]]:
    """The query as OR-groups of clauses (a group of one is a plain AND term).

    Whitelisted syntax only; anything else (`--force`, `$(rm -rf)`, `HEAD~1`, `a:b`) is text.
    """
    text = text[:MAX_QUERY_CHARS]
    clauses: list[_Clause | str] = []
    for match in _TOKEN.finditer(text):
        neg, fname, phrase, word = match.groups()
        if phrase is not None:
            kind_field = FILTER_ALIASES.get((fname or "").lower(), "")
            if fname and not kind_field:
                clauses.append(_Clause("word", fname, raw=fname))
            if kind_field and kind_field not in TEXT_FIELDS:
                clauses.append(_Clause("filter", phrase, bool(neg), kind_field, raw=phrase))
            else:
                clauses.append(_Clause("phrase", phrase, bool(neg), kind_field, raw=phrase))
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
            clauses.append(_Clause("prefix" if value.endswith("*") else "word",
                                   value.rstrip("*"), negate, kind_field, raw=value))
        elif kind_field:
            clauses.append(_Clause("filter", value, negate, kind_field, raw=value))
        elif sep and name and value and name.isalpha():
            # `key:notes` names no field users may search: it is the two words.
            clauses += [_Clause("word", name, negate, raw=name),
                        _Clause("word", value, negate, raw=value)]
        elif body.endswith("*") and len(body.rstrip("*")) >= MIN_PREFIX:
            clauses.append(_Clause("prefix", body.rstrip("*"), negate, raw=body))
        else:
            clauses.append(_Clause("word", body, negate, raw=body))
    if clauses and all(isinstance(c, str) or c.negate for c in clauses):
        # Only exclusions (a query like `-rf`) would match nothing: read it as text.
        for c in clauses:
            if not isinstance(c, str):
                c.negate = False
    groups: list[list[_Clause]] = []
    join = False
    for c in clauses:
        if c == "OR":
            join = bool(groups)
            continue
        assert isinstance(c, _Clause)
        if join and not c.negate and not groups[-1][0].negate and c.kind != "filter" \
                and groups[-1][0].kind != "filter":
            groups[-1].append(c)
        else:
            groups.append([c])
        join = False
    return groups[:MAX_CLAUSES]


# --- the service -----------------------------------------------------------------------------

class IndexUnavailable(Exception):
    """The index is missing, broken or from another schema version."""


class Search:
    def __init__(self, folder: Path, lock_dir: Path, repo, catalog, renderer,
                 permissions: Permissions, default_language: str = "en"):
        self.folder = Path(folder)
        self.lock_path = Path(lock_dir) / "search.lock"
        self.rebuild_lock_path = Path(lock_dir) / "search-rebuild.lock"
        self.repo = repo
        self.catalog = catalog
        self.renderer = renderer
        self.permissions = permissions
        self.default_language = default_language if default_language in LANGS else "en"
        self._analysis: _Analysis | None = None
        self._schema = None
        self._searcher = None
        self._writes_since_collect = 0
        self._searcher_target: str | None = None
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._rebuilding = threading.Event()
        self._acl_cache: dict = {}
        self.discussions = None  # wiki.discussions.Discussions: threads (see index_also)
        self.attachments = None  # wiki.attachments.Attachments: the text of attached files

    def index_also(self, discussions, attachments) -> None:
        """Index discussion threads and attached files besides pages (built after Search)."""
        self.discussions = discussions
        self.attachments = attachments
        discussions.listeners.append(self.on_thread_change)

    # --- setup ---------------------------------------------------------------------------

    @property
    def analysis(self) -> _Analysis:
        if self._analysis is None:
            self._analysis = _Analysis()
            self._schema = _schema(self._analysis)
        return self._analysis

    @property
    def schema(self):
        _ = self.analysis
        return self._schema

    def _current(self) -> Path | None:
        link = self.folder / CURRENT
        try:
            target = os.readlink(link)
        except OSError:
            return None
        return self.folder / target

    def _open(self, gen: Path | None = None):
        """Open the current generation (IndexUnavailable when missing, broken or outdated)."""
        gen = gen or self._current()
        if gen is None:
            raise IndexUnavailable("no index")
        if self._read_marker(gen)[0] != SCHEMA_VERSION:
            raise IndexUnavailable("another schema version")
        with _QuietLeaks() as quiet:
            try:
                return index.open_dir(str(gen), schema=self.schema)
            except Exception as exc:  # EmptyIndexError, truncated TOC, unpickling errors …
                reason = f"{type(exc).__name__}: {exc}"
                quiet.leaked()
        raise IndexUnavailable(reason)

    @staticmethod
    def _read_marker(gen: Path) -> tuple[str | None, str | None]:
        try:
            version, _, commit = (gen / COMMIT_FILE).read_text("utf-8").partition("\n")
        except OSError:
            return None, None
        return version.strip(), commit.strip() or None

    @staticmethod
    def _write_marker(gen: Path, commit: str | None) -> None:
        tmp = gen / f".{COMMIT_FILE}.{uuid.uuid4().hex}"
        tmp.write_text(f"{SCHEMA_VERSION}\n{commit or ''}\n", "utf-8")
        os.replace(tmp, gen / COMMIT_FILE)

    def check(self) -> list[str]:
        """Problems with the index, in plain words (empty when healthy). No index yet, or one
        a few commits behind, is healthy: the next search builds it or catches up."""
        if self._current() is None:
            return []
        try:
            self._open().close()
        except IndexUnavailable as exc:
            return [f"The search index cannot be used ({exc}); run `wiki reindex`."]
        return []

    def segments(self) -> tuple[int, int]:
        """(segments, deleted documents not yet merged away) of the current index: what a
        search pays for beyond its words (each segment is looked up, each deletion filtered)."""
        ix = self._open()
        try:
            with ix.reader() as reader:
                return len(reader.leaf_readers()), reader.doc_count_all() - reader.doc_count()
        finally:
            ix.close()

    def recorded(self) -> str | None:
        """The commit the index reflects (None when there is no usable index)."""
        gen = self._current()
        return self._read_marker(gen)[1] if gen else None

    # --- keeping up with git -------------------------------------------------------------

    def on_catalog_change(self, changes, full: bool) -> None:
        """Catalog listener: bring the index to HEAD (the texts in `changes` save git reads)."""
        if self._rebuilding.is_set() or self._current() is None:
            # Rebuilding here (it catches up after the swap), or no index yet: the first
            # search builds it, so wikis that never search (and every test) pay nothing.
            return
        hints = {c.blob: c.text for c in changes if c.blob and c.text is not None}
        try:
            self.ensure_current(hints)
        except Exception:
            # The commit is made; a search index that cannot follow must not turn the save
            # into an error. The recorded commit stays behind, so the next search catches up.
            log.exception("the search index could not catch up")

    def ensure_current(self, hints: dict[str, str] | None = None) -> bool:
        """Make the index reflect HEAD; False while a full (re)build is still running."""
        try:
            self.catch_up(hints)
            return True
        except IndexUnavailable as exc:
            log.info("search index unavailable (%s): rebuilding", exc)
            return self._schedule_rebuild()

    def indexing(self) -> bool:
        return self._rebuilding.is_set() or (self._thread is not None and self._thread.is_alive())

    def wait(self, timeout: float | None = None) -> None:
        """Wait for a background rebuild of this process (tests, the command line)."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)

    def _schedule_rebuild(self) -> bool:
        total, _ = self.catalog.pages(limit=0)
        if total <= INLINE_REBUILD_PAGES:
            with contextlib.suppress(RepositoryBusy):  # another process is already at it
                self.rebuild(wait=False)
                return True
            return False
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._rebuild_quietly,
                                                name="kennis-search-rebuild", daemon=True)
                self._thread.start()
        return False

    def _rebuild_quietly(self) -> None:
        try:
            self.rebuild(wait=False)
        except RepositoryBusy:
            pass  # another process is rebuilding
        except Exception:  # a thread has nobody to report to but the log
            log.exception("rebuilding the search index failed")

    def catch_up(self, hints: dict[str, str] | None = None) -> int:
        """Apply the commits between the recorded one and HEAD; returns pages (re)indexed."""
        with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
            gen = self._current()
            ix = self._open(gen)
            try:
                recorded = self._read_marker(gen)[1]
                head = self.repo.head()
                if recorded == head:
                    return 0
                if recorded is None or head is None or not self._reachable(recorded, head):
                    raise IndexUnavailable("the recorded commit is not in the history")
                pages, gone, files = self._changed_since(recorded, head)
                writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
                try:
                    for key in gone:
                        writer.delete_by_term("key", key)
                    texts = self._texts([p.blob for p in pages], hints or {})
                    for page in pages:
                        writer.update_document(**self._document(page, texts[page.blob]))
                    for path, found in files.items():
                        if found is None:
                            writer.delete_by_term("key", FILE_PREFIX + path)
                        else:
                            writer.update_document(**self._file_document(*found))
                except BaseException:
                    writer.cancel()
                    raise
                # Merging segments costs about 30 ms; a save pays it only every few commits.
                writer.commit(merge=len(writer.segments) >= MERGE_AFTER_SEGMENTS)
                self._write_marker(gen, head)
                self._collect_now_and_then()
                return len(pages)
            finally:
                ix.close()

    def _collect_now_and_then(self) -> None:
        """Whoosh's writers leave their segment buffers in reference cycles that Python's
        collector reaches late: measured, a worker grew from 100 to 400 MB over 300 saves and
        fell back to 120 MB after one full collection (about 35 ms). Collecting after every
        few index writes keeps the memory flat for a few ms per save on average."""
        self._writes_since_collect += 1
        if self._writes_since_collect >= COLLECT_AFTER_WRITES:
            self._writes_since_collect = 0
            gc.collect()

    def _reachable(self, ancestor: str, head: str) -> bool:
        try:
            return self.repo.is_ancestor(ancestor, head)
        except Exception:  # an unknown commit (history rewritten)
            return False

    def _changed_since(self, since: str, head: str
                       ) -> tuple[list[_Page], set[str], dict[str, tuple | None]]:
        """(pages to (re)index, page keys gone, file path -> _file_document arguments or
        None when the file is gone) for the commits since..head."""
        last: dict[str, object] = {}
        candidates: dict[str, set[str]] = {}
        file_commits: dict[str, object] = {}
        for commit in self.repo.log(since=since, until=head, reverse=True):
            for change in commit.changes:
                for path in (change.path, change.old_path):
                    name = paths.from_file(path) if path else None
                    if name:
                        key = paths.key(name)
                        last[key] = commit
                        candidates.setdefault(key, set()).add(path)
                    elif path and self.attachments is not None and _file_page(path):
                        file_commits[path] = commit
        wanted = [p for ps in candidates.values() for p in ps] + list(file_commits)
        if len(wanted) > 20:
            tree = self.repo.tree(head)
            blobs = {p: tree.get(p) for p in wanted}
        else:
            blobs = {p: self.repo.blob_id(head, p) for p in wanted}
        files: dict[str, tuple | None] = {}
        for path, commit in file_commits.items():
            blob = blobs.get(path)
            files[path] = None if not blob else (
                path, blob, commit.author.name, commit.date)  # type: ignore[attr-defined]
        pages, gone = [], set()
        for key, ps in candidates.items():
            found = next(((p, blobs[p]) for p in sorted(ps) if blobs.get(p)), None)
            if found is None:
                gone.add(key)
                continue
            commit = last[key]
            pages.append(_Page(key=key, name=paths.from_file(found[0]) or found[0],
                               blob=found[1], author=commit.author.name,  # type: ignore[attr-defined]
                               updated=commit.date))  # type: ignore[attr-defined]
        return pages, gone, files

    def _texts(self, blobs: list[str], hints: dict[str, str]) -> dict[str, str]:
        texts = {b: hints[b] for b in blobs if b in hints}
        missing = [b for b in blobs if b not in texts]
        for start in range(0, len(missing), BATCH):
            for blob, data in self.repo.read_many(missing[start:start + BATCH]).items():
                texts[blob] = data.decode("utf-8", errors="replace")
        return texts

    def _document(self, page: _Page, text: str) -> dict:
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
            "updated": _naive_utc(page.updated), "name": page.name.replace("/", " "),
            "spell": f"{title}\n{headings}\n{plain}", "suggest": f"{title} {leaf}",
            f"title_{lang}": title, f"headings_{lang}": headings,
            f"all_{lang}": _sections(page.name.replace("/", " "), title, plain),
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
            f"all_{lang}": _sections(title, text),
        }
        if author:
            doc["author"] = doc["author_id"] = author
        if updated is not None:
            doc["updated"] = _naive_utc(updated)
        return doc

    def _thread_document(self, thread, langs: dict[str, str] | None = None) -> dict:
        """A discussion thread (wiki.discussions.ThreadDocument): its comments as text."""
        text = _plain(self.renderer.render(thread.text).html) if thread.text else ""
        doc = self._attached(thread.page_name, self._page_lang(thread.page_name, langs),
                             thread.title, text, "", thread.updated)
        return {**doc, "key": f"{THREAD_PREFIX}{thread.id}", "kind": "discussion",
                "ref": str(thread.id)}

    def _file_document(self, path: str, blob: str, author: str, updated: datetime | None,
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
                "name": words, f"title_{lang}": words, f"all_{lang}": _sections(words, text)}

    # --- threads (from the database, not from git) ---------------------------------------

    def on_thread_change(self, thread_id: int, page_name: str | None = None) -> None:
        """Discussions listener: re-index one thread right away (a new comment is findable
        as soon as its POST returns); a thread that is gone leaves the index."""
        if self.discussions is None or self._current() is None:
            return  # no index yet: the first search builds it with every thread
        try:
            thread = self.discussions.thread_document(thread_id)
            with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
                self._note_thread(thread_id)
                ix = self._open()
                try:
                    writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
                    try:
                        if thread is None:
                            writer.delete_by_term("key", f"{THREAD_PREFIX}{thread_id}")
                        else:
                            writer.update_document(**self._thread_document(thread))
                    except BaseException:
                        writer.cancel()
                        raise
                    writer.commit()
                finally:
                    ix.close()
        except IndexUnavailable:
            pass  # the next search rebuilds the index, threads included
        except Exception:
            # The comment is saved; an index that cannot follow must not turn it into an error.
            log.exception("the search index could not follow thread %s", thread_id)

    def _note_thread(self, thread_id: int) -> None:
        """Append to the journal of a running rebuild (it exists only then; under the lock)."""
        with contextlib.suppress(OSError):
            fd = os.open(self.folder / THREAD_JOURNAL, os.O_WRONLY | os.O_APPEND)
            try:
                os.write(fd, f"{int(thread_id)}\n".encode())
            finally:
                os.close(fd)

    def _journaled_threads(self, ix) -> None:
        """After a swap: apply the thread changes noted while the rebuild ran."""
        journal = self.folder / THREAD_JOURNAL
        try:
            ids = {int(line) for line in journal.read_text("ascii").split() if line.isdigit()}
        except OSError:
            ids = set()
        with contextlib.suppress(OSError):
            journal.unlink()
        if not ids or self.discussions is None:
            return
        writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
        try:
            for thread_id in sorted(ids):
                thread = self.discussions.thread_document(thread_id)
                if thread is None:
                    writer.delete_by_term("key", f"{THREAD_PREFIX}{thread_id}")
                else:
                    writer.update_document(**self._thread_document(thread))
        except BaseException:
            writer.cancel()
            raise
        writer.commit()

    def rebuild(self, wait: bool = True) -> int:
        """Build a fresh index from git in a new folder and swap it in; returns the pages.

        `wait`: wait for another process's rebuild to finish first (the command line);
        otherwise RepositoryBusy when one is running.
        """
        with file_lock(self.rebuild_lock_path, timeout=WRITER_TIMEOUT if wait else 0):
            self._rebuilding.set()
            try:
                self.folder.mkdir(parents=True, exist_ok=True)
                self._remove_stale()
                with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
                    (self.folder / THREAD_JOURNAL).write_bytes(b"")  # before reading threads
                self.catalog.ensure_current()
                head = self.catalog.indexed()
                _, infos = self.catalog.pages()
                langs = {info.key: info.lang for info in infos}
                gen = self.folder / f"gen-{time.time_ns()}-{os.getpid()}"
                gen.mkdir()
                ix = index.create_in(str(gen), self.schema)
                writer = ix.writer(timeout=WRITER_TIMEOUT, limitmb=128)
                try:
                    for start in range(0, len(infos), BATCH):
                        batch = infos[start:start + BATCH]
                        texts = self._texts([p.blob for p in batch], {})
                        for info in batch:
                            page = _Page(key=info.key, name=info.name, blob=info.blob,
                                         author=info.author, updated=info.updated)
                            writer.add_document(**self._document(page, texts[info.blob]))
                    self._add_threads_and_files(writer, head, infos, langs)
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
                self._write_marker(gen, head)
                with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
                    try:
                        self._journaled_threads(ix)
                    finally:
                        ix.close()
                    self._swap(gen)
            finally:
                self._rebuilding.clear()
                with contextlib.suppress(OSError):
                    (self.folder / THREAD_JOURNAL).unlink()  # only a failed rebuild left one
        self.ensure_current()  # commits that arrived while building
        return len(infos)

    def _add_threads_and_files(self, writer, head: str | None, infos, langs) -> None:
        if self.discussions is not None:
            for thread in self.discussions.all_threads_for_index():
                writer.add_document(**self._thread_document(thread, langs))
        if self.attachments is None or head is None:
            return
        # A file's own last change would take a `git log` per folder; in a rebuild it carries
        # its page's (the catch-up after each commit records the file's own).
        pages = {info.key: info for info in infos}
        for path, blob in sorted(self.repo.tree(head).items()):
            page = _file_page(path)
            if page is None:
                continue
            info = pages.get(paths.key(page))
            writer.add_document(**self._file_document(
                path, blob, info.author if info else "", info.updated if info else None,
                langs))

    def _swap(self, gen: Path) -> None:
        old = self._current()
        tmp = self.folder / f".{CURRENT}.{uuid.uuid4().hex}"
        os.symlink(gen.name, tmp)
        os.replace(tmp, self.folder / CURRENT)  # atomic: readers see the old or the new index
        if old is not None and old != gen:
            # Open searchers keep their files (POSIX); new ones follow the link.
            shutil.rmtree(old, ignore_errors=True)

    def _remove_stale(self) -> None:
        """Generations left by an interrupted rebuild (called under the rebuild lock)."""
        current = self._current()
        for child in self.folder.iterdir():
            if child.name.startswith("gen-") and child != current:
                shutil.rmtree(child, ignore_errors=True)

    # --- reading -------------------------------------------------------------------------

    def _search_with(self, work, failed):
        """Run `work(searcher)` on an up-to-date searcher; None while the index is building,
        `failed` when this search fails on an index that reads fine."""
        self.catalog.ensure_current()
        if self.recorded() != self.repo.head() and not self.ensure_current():
            return None
        with self._lock, _QuietLeaks() as quiet:
            try:
                searcher = self._fresh_searcher()
                return work(searcher)
            except IndexUnavailable:
                self._drop_searcher()
            except Exception as exc:
                self._drop_searcher()
                quiet.leaked()
                if not isinstance(exc, DAMAGE) and self._readable():
                    # The query failed, not the index: no rebuild (which the same query
                    # could otherwise set off again and again).
                    log.exception("a search failed on a readable index")
                    return failed
                # A truncated or damaged segment shows up only when read: rebuild it.
                log.exception("the search index is damaged: rebuilding")
        gen = self._current()
        if gen is not None:
            with contextlib.suppress(OSError):
                (gen / COMMIT_FILE).unlink()  # marks it unusable for every process
        if not self.ensure_current():
            return None
        with self._lock:
            try:
                return work(self._fresh_searcher())
            except Exception:
                log.exception("the rebuilt search index cannot be read")
                self._drop_searcher()
                return None

    def _readable(self) -> bool:
        """Whether a fresh reader of the current index opens, searches and reads its terms
        and stored fields (after a failed search: is the index damaged?)."""
        try:
            ix = self._open()
        except IndexUnavailable:
            return False
        try:
            with ix.searcher() as searcher:
                for hit in searcher.search(Every(), limit=1):
                    hit.fields()
                for fieldname in ("key", *(f"all_{lang}" for lang in LANGS)):
                    for _term in itertools.islice(searcher.lexicon(fieldname), 100):
                        pass
            return True
        except Exception:
            return False
        finally:
            ix.close()

    def _fresh_searcher(self):
        gen = self._current()
        target = str(gen) if gen else None
        searcher = self._searcher
        # Not Searcher.refresh(): it reuses segment readers and so keeps showing documents
        # deleted since (whoosh-reloaded 2.7.5); a new searcher after each commit is cheap.
        if searcher is not None and target == self._searcher_target and \
                searcher._ix.latest_generation() == searcher.reader().generation():
            return searcher
        self._drop_searcher()
        ix = self._open(gen)
        self._searcher = ix.searcher()
        self._searcher_target = target
        return self._searcher

    def _drop_searcher(self) -> None:
        if self._searcher is not None:
            with contextlib.suppress(Exception):
                self._searcher.close()
        self._searcher = None
        self._searcher_target = None

    def _acl(self, searcher, account: Account) -> tuple[set | None, set | None]:
        """(filter, mask) document sets for what this account may read.

        Built from `Permissions.read_filter`: a rule on prefix P covers P and `P/…`, and the
        most specific covering rule wins. When pages are readable by default, the few pages
        under denying rules are a mask; otherwise the pages under allowing rules are the
        filter. The sets are kept per searcher (they change only with the index or the rules).
        """
        spec = self.permissions.read_filter(account)
        cache = self._acl_cache
        if cache.get("searcher") is not searcher:
            cache.clear()
            cache["searcher"] = searcher
        if spec not in cache:
            default, rules = spec
            keys = [(paths.key(prefix), allowed) for prefix, allowed in rules]

            def covers(key: str):
                return Or([Term("key", key), Term("within", key)])

            def ruled_by(key: str):  # pages whose most specific rule is this one
                narrower = [covers(k) for k, _ in keys
                            if k != key and k.startswith(key + "/")]
                return And([covers(key), Not(Or(narrower))]) if narrower else covers(key)

            chosen = [ruled_by(k) for k, ok in keys if ok != default]
            docs = set(Or(chosen).docs(searcher)) if chosen else set()
            if len(cache) > 1000:
                cache.clear()
                cache["searcher"] = searcher
            cache[spec] = (None, docs) if default else (docs, None)
        return cache[spec]

    def search(self, account: Account, text: str, filters: Filters | None = None,
               offset: int = 0, limit: int = 20, sort: str = "relevance") -> Results:
        """Ranked results the account may read, with snippets, facets and "did you mean"."""
        self.permissions.require_read(account)
        filters = filters or Filters()
        text = (text or "").strip()
        offset, limit = max(0, offset), max(1, min(limit, 100))
        groups = _parse(text)
        if not groups and not any(vars(filters).values()):
            return Results(query=text, total=0, hits=(), offset=offset, limit=limit)
        found = self._search_with(
            lambda s: self._run(s, text, groups, filters, account, offset, limit, sort),
            failed=Results(query=text, total=0, hits=(), offset=offset, limit=limit))
        if found is None:
            return Results(query=text, total=0, hits=(), indexing=True, offset=offset,
                           limit=limit)
        return found

    def _run(self, searcher, text, groups, filters, account, offset, limit, sort) -> Results:
        positive, restrict, mask = self._build(groups, filters)
        restrict = [q for q in restrict if q is not None]
        if not positive and not restrict:
            return Results(query=text, total=0, hits=(), offset=offset, limit=limit)
        allowed, denied = self._acl(searcher, account)
        flt = set(And(restrict).docs(searcher)) if restrict else None
        if allowed is not None:
            flt = allowed if flt is None else flt & allowed
        if flt is not None and not flt:
            # Nothing passes the filter. (Whoosh would read an empty set as "no filter".)
            return Results(query=text, total=0, hits=(), offset=offset, limit=limit)
        msk = set(Or(mask).docs(searcher)) if mask else set()
        msk = (msk | denied if denied else msk) or None
        matches = [w.match for w in positive]
        bonus = [b for w in positive for b in w.bonus]
        weighting = _Bonus(self._bonus(searcher, bonus)) if sort != "date" else None
        matched: list[int] = []  # every match, for the total and the facets

        def run(q):
            matched.clear()
            if sort == "date":
                inner = _SortedRemembering(matched, sorting.FieldFacet("updated", reverse=True),
                                           limit=offset + limit)
            else:
                inner = _TopRemembering(matched, limit=offset + limit)
            collector = collectors.FilterCollector(inner, allow=flt, restrict=msk)
            with _weighted(searcher, weighting):
                searcher.search_with_collector(q, collector)
            return collector.results()

        counts = None
        if len(matches) >= QUESTION_CLAUSES:
            # Mostly a question that no page answers with every word: count the words per
            # page with set operations, instead of letting Whoosh's AND find nothing slowly.
            counts = self._counts(searcher, matches, flt, msk)
            every = {doc for doc, n in counts.items() if n == len(matches)}
            results = run(Require(Or(matches), _Documents(every, searcher))) if every else None
        else:
            results = run(And(matches) if matches else Every())
        partial = False
        if (results is None or results.is_empty()) and len(matches) > 1:
            # The pages with the most of the words, ranked (see _Bonus).
            if counts is None:
                counts = self._counts(searcher, matches, flt, msk)
            counts = _most_words(counts)
            if weighting is not None:
                weighting.words = counts
            results = run(Require(Or(matches), _Documents(set(counts), searcher)))
            partial = True
        total = len(matched)
        terms = self._highlight_terms(searcher, Or(matches + bonus) if matches else None)
        hits = tuple(self._hit(h, terms) for h in results[offset:offset + limit])
        suggestion = None
        if total <= FEW_RESULTS or partial:
            suggestion = self._did_you_mean(searcher, text, groups, flt, msk)
        return Results(query=text, total=total, hits=hits, suggestion=suggestion,
                       partial=partial, facets=self._facets(searcher, matched),
                       offset=offset, limit=limit)

    def _build(self, groups, filters: Filters):
        """(positive clauses as _Words, filter queries, mask queries) from the parsed query
        and the UI filters."""
        positive, restrict, mask = [], [], []
        words = [c for g in groups for c in g if c.kind == "word" and not c.negate]
        drop_stops = len(words) > 1 or any(
            c.kind != "word" and c.kind != "filter" for g in groups for c in g if not c.negate)
        for group in groups:
            if group[0].kind == "filter":
                c = group[0]
                q = self._filter(c.field, c.text)
                if q is None:  # a filter that cannot be read (since:yesterday) is text
                    words = self._clause(_Clause("word", f"{c.field} {c.text}"), False)
                    if words is not None:
                        if c.negate:
                            mask.append(words.match)
                        else:
                            positive.append(words)
                else:
                    (mask if c.negate else restrict).append(q)
                continue
            qs = [self._clause(c, drop_stops) for c in group]
            qs = [q for q in qs if q is not None]
            if not qs:
                continue
            if group[0].negate:
                mask += [w.match for w in qs]
            elif len(qs) == 1:
                positive.append(qs[0])
            else:
                positive.append(_Words(Or([w.match for w in qs]),
                                       tuple(b for w in qs for b in w.bonus)))
        for name, value in (("tag", filters.tag), ("ns", filters.prefix),
                            ("author", filters.author), ("since", filters.since)):
            if value:
                restrict.append(self._filter(name, value))
        if filters.kind:
            restrict.append(self._filter("kind", filters.kind))
        return positive, restrict, mask

    def _filter(self, name: str, value: str):
        value = value.strip()
        if name == "tag":
            return Term("tags", value.lower())
        if name == "ns":
            try:
                key = paths.key(paths.normalize(value))
            except Exception:  # an impossible namespace contains nothing
                return NullQuery
            return Or([Term("key", key), Term("within", key)])
        if name == "author":
            terms = self.analysis.terms(self.analysis.simple, value)
            return And([Term("author", t) for t in terms]) if terms else NullQuery
        if name == "kind":
            value = value.lower()
            return Term("kind", value) if value in KINDS else NullQuery
        if name == "since":
            try:
                start = datetime.fromisoformat(value)
            except ValueError:
                return None
            return DateRange("updated", _naive_utc(start), None)
        return None

    def _clause(self, clause: _Clause, drop_stops: bool) -> "_Words | None":
        """One word, phrase or prefix, in both languages: matched in the whole text (or the
        one field named), with a bonus for the title, headings and name."""
        a = self.analysis
        base = FIELD_OF[clause.field] if clause.field else "all"
        boost = BONUS.get(base, 1.0)
        extra = () if clause.field else ("title", "headings")
        match, bonus = [], []
        if clause.kind == "prefix":
            prefix = "".join(a.terms(a.simple, clause.text))
            if len(prefix) < MIN_PREFIX:
                return None
            for lang in LANGS:
                match.append(Prefix(f"{base}_{lang}", prefix, boost=boost))
                bonus += [Prefix(f"{f}_{lang}", prefix, boost=BONUS[f]) for f in extra]
            if not clause.field:
                bonus.append(Prefix("name", prefix, boost=BONUS["name"]))
            return _Words(Or(match), tuple(bonus))
        if drop_stops and clause.kind == "word" and a.fold(clause.text) in a.all_stops:
            return None
        for lang in LANGS:
            terms = a.terms(a.lang[lang], clause.text)
            if terms:
                match.append(_words_query(f"{base}_{lang}", terms, boost))
                bonus += [_words_query(f"{f}_{lang}", terms, BONUS[f]) for f in extra]
        if not match:
            return None
        names = a.terms(a.simple, clause.text) if not clause.field else []
        if names:
            bonus.append(_words_query("name", names, BONUS["name"]))
        return _Words(Or(match), tuple(bonus))

    @staticmethod
    def _counts(searcher, matches: list, flt: set | None, msk: set | None) -> Counter[int]:
        """How many of the clauses each readable document matches."""
        counts: Counter[int] = Counter()
        for q in matches:
            found = _docs(searcher, q)
            if flt is not None:
                found &= flt
            if msk:
                found -= msk
            counts.update(found)
        return counts

    @staticmethod
    def _bonus(searcher, bonus: list) -> dict[int, float]:
        """Document number -> score of the bonus queries (titles, headings and names are
        short: these posting lists are too)."""
        if not bonus:
            return {}
        query, scores = Or(bonus), {}
        for leaf, offset in searcher.leaf_searchers():  # as a collector would, minus the heap
            matcher = query.matcher(leaf, leaf.context())
            while matcher.is_active():
                scores[offset + matcher.id()] = matcher.score()
                matcher.next()
        return scores

    def _highlight_terms(self, searcher, query) -> dict[str, frozenset[str]]:
        """Per language, the index terms of the query (prefixes expanded) to mark in text."""
        if query is None:
            return {}
        found: dict[str, set[str]] = {lang: set() for lang in LANGS}
        reader = searcher.reader()
        # Leaf by leaf: Query.existing_terms() of whoosh-reloaded 2.7.5 reuses its `fieldname`
        # argument as a loop variable and so drops every field after the first.
        for leaf in query.leaves():
            for fieldname, value in leaf.expanded_terms(reader, phrases=True):
                base, _, lang = fieldname.rpartition("_")
                if lang in found:
                    found[lang].add(value.decode("utf-8") if isinstance(value, bytes) else value)
        return {lang: frozenset(t) for lang, t in found.items()}

    def _hit(self, hit, terms: dict[str, frozenset[str]]) -> Hit:
        stored = hit.fields()
        lang = stored.get("lang") or self.default_language
        updated = stored.get("updated")
        kind = stored.get("kind", "page")
        ref = stored.get("ref", "")
        return Hit(path=stored["path"], title=stored.get("title") or stored["path"],
                   snippet=self._snippet(stored.get("text", ""), lang, terms.get(lang, ())),
                   score=round(float(hit.score or 0.0), 4),
                   updated=updated.replace(tzinfo=UTC) if updated else None,
                   kind=kind, namespace=stored.get("ns", ""),
                   tags=tuple(t for t in (stored.get("tags") or "").split() if t),
                   author=stored.get("author", ""),
                   thread_id=int(ref) if kind == "discussion" and ref.isdigit() else None,
                   file_path=ref if kind == "attachment" else "")

    def _snippet(self, text: str, lang: str, terms: Iterable[str]) -> str:
        """Escaped text around the best hits, with <mark> around each hit."""
        terms = frozenset(terms)
        if terms:
            fragmenter = highlight.ContextFragmenter(maxchars=SNIPPET_CHARS, surround=70,
                                                     charlimit=HIGHLIGHT_CHARS)
            snippet = highlight.highlight(text, terms, self.analysis.marking[lang], fragmenter,
                                          _MarkFormatter(), top=2)
            if snippet:
                return snippet
        short = text[:SNIPPET_CHARS]
        return html.escape(short + ("…" if len(text) > SNIPPET_CHARS else ""), quote=False)

    def _facets(self, searcher, matched: list[int]) -> dict[str, tuple[tuple[str, int], ...]]:
        """The 20 commonest values of each facet among the matched documents."""
        out = {}
        for name, fieldname, many in FACETS:
            values = self._values(searcher, fieldname, many)
            if many:
                counts = Counter(v for doc in matched for v in values[doc])
            else:
                counts = Counter(map(values.__getitem__, matched))
            items = [(k.decode("utf-8") if isinstance(k, bytes) else str(k), n)
                     for k, n in counts.items() if k not in (None, "", b"")]
            out[name] = tuple(sorted(items, key=lambda kv: (-kv[1], kv[0].casefold()))[:20])
        return out

    def _values(self, searcher, fieldname: str, many: bool) -> list:
        """A field's value (or values) per document number, read once per searcher.

        Whoosh's FieldFacet reads a column from disk for every matching document, and for a
        field with several values per document (tags) walks every posting of the field at
        every search: a broad query at 10,000 pages spent more time counting facets than
        finding pages."""
        memo = self._acl_cache  # emptied whenever the searcher changes
        key = ("values", fieldname)
        if key not in memo:
            values: list = []
            for leaf, _offset in searcher.leaf_searchers():  # in document number order
                values += _segment_values(leaf, fieldname, many)
            memo[key] = values
        return memo[key]

    def _did_you_mean(self, searcher, text, groups, flt, msk) -> str | None:
        """Replace words the index does not know by close words some readable page has."""
        a = self.analysis
        reader = searcher.reader()
        corrector = searcher.corrector("spell")
        corrected = text
        changed = False
        for group in groups:
            for c in group:
                if c.kind != "word" or c.negate or c.field:
                    continue
                word = a.fold(c.text)
                if len(word) < 3 or not word.isalpha() or reader.doc_frequency("spell", word):
                    continue
                found = self._clause(c, False)
                if found is not None and not searcher.search(found.match, limit=1, filter=flt,
                                                             mask=msk).is_empty():
                    continue  # another form of the word matches (stemming, compounds)
                for candidate in corrector.suggest(word, limit=5, maxdist=2, prefix=1):
                    # Only a word that a page this caller may read contains: a suggestion
                    # must never reveal the vocabulary of a hidden page.
                    if not searcher.search(Term("spell", candidate), limit=1, filter=flt,
                                           mask=msk).is_empty():
                        corrected = re.sub(rf"(?<!\w){re.escape(c.raw)}(?!\w)", candidate,
                                           corrected, count=1)
                        changed = True
                        break
        return corrected if changed and corrected != text else None

    def suggest(self, account: Account, text: str, limit: int = 8) -> list[Suggestion]:
        """Titles for as-you-type suggestions: titles with words starting with every word typed."""
        self.permissions.require_read(account)
        words = self.analysis.terms(self.analysis.simple, (text or "")[:MAX_QUERY_CHARS])
        if not words:
            return []
        limit = max(1, min(limit, 20))
        query = And([Prefix("suggest", w) for w in words])

        def work(searcher):
            allowed, denied = self._acl(searcher, account)
            if allowed is not None and not allowed:
                return []  # Whoosh would read an empty filter as "no filter"
            results = searcher.search(query, limit=limit, filter=allowed, mask=denied or None)
            return [Suggestion(title=h["title"], path=h["path"]) for h in results]

        return self._search_with(work, failed=[]) or []


def _most_words(counts: Counter[int]) -> dict[int, int]:
    """The documents that match the most clauses, with how many they match: all with the
    highest count, then the next counts down until there are PARTIAL_MIN (or the count is
    one)."""
    if not counts:
        return {}
    sizes = Counter(counts.values())
    need, chosen = max(sizes), 0
    while need > 1 and chosen + sizes[need] < PARTIAL_MIN:
        chosen += sizes[need]
        need -= 1
    return {doc: n for doc, n in counts.items() if n >= need}


def _docs(searcher, q) -> set[int]:
    """The documents a query matches, unscored (an OR as the union of its parts' sets: set
    operations in C beat Whoosh's union matcher)."""
    if isinstance(q, Or):
        return set().union(*(_docs(searcher, sub) for sub in q.subqueries))
    return set(q.docs(searcher))


class _Documents(Query):
    """These documents (index-wide numbers): `Require(query, _Documents(…))` scores only them,
    with the query's score."""

    def __init__(self, docnums: set[int], searcher):
        self.docnums = sorted(docnums)
        self.leaves = searcher.leaf_searchers()  # (segment searcher, its first number)

    def __unicode__(self):
        return f"<{len(self.docnums)} documents>"

    __str__ = __unicode__

    def __eq__(self, other):
        return other.__class__ is self.__class__ and other.docnums == self.docnums

    def __hash__(self):
        return hash(tuple(self.docnums))

    def estimate_size(self, ixreader):
        return len(self.docnums)

    def matcher(self, searcher, context=None):
        # A segment's searcher numbers from 0; the top searcher (docs()) numbers index-wide.
        offset = next((start for leaf, start in self.leaves if leaf is searcher), 0)
        end = offset + searcher.doc_count_all()
        docs = self.docnums
        ids = [d - offset for d in docs[bisect.bisect_left(docs, offset):
                                        bisect.bisect_left(docs, end)]]
        return ListMatcher(ids, all_weights=0.0) if ids else NullMatcher()


@dataclass(frozen=True)
class _Words:
    """A clause as queries: `match` finds documents, `bonus` only adds to their score."""

    match: object
    bonus: tuple = ()


def _words_query(fieldname: str, terms: list[str], boost: float):
    if len(terms) == 1:
        return Term(fieldname, terms[0], boost=boost)
    return Phrase(fieldname, terms, boost=boost)


class _Bonus(scoring.BM25F):
    """BM25F plus a bonus per document, computed before the search (Whoosh calls `final` for
    every match). For partial matches, `words` holds how many of the query's words each
    document has: more words rank first, the score orders pages with as many (the score
    becomes words + score / (score + 1))."""

    use_final = True

    def __init__(self, bonus: dict[int, float]):
        super().__init__()
        self.bonus = bonus
        self.words: dict[int, int] = {}

    def final(self, searcher, docnum, score):
        score += self.bonus.get(docnum, 0.0)
        words = self.words.get(docnum)
        return score if words is None else words + score / (score + 1.0)


@contextlib.contextmanager
def _weighted(searcher, weighting):
    """Score one search with `weighting` (the caller holds the searcher's lock)."""
    if weighting is None:
        yield
        return
    saved = searcher.weighting
    searcher.weighting = weighting
    try:
        yield
    finally:
        searcher.weighting = saved


def _segment_values(segment_searcher, fieldname: str, many: bool) -> list:
    """One segment's values of a field by document number (lists of values when `many`)."""
    reader = segment_searcher.reader()
    if not many and reader.has_column(fieldname):
        return list(reader.column_reader(fieldname, translate=True))
    field = segment_searcher.schema[fieldname]
    lists: list[list] = [[] for _ in range(reader.doc_count_all())]
    for btext in field.sortable_terms(reader, fieldname):
        text = field.from_bytes(btext)
        for docnum in reader.postings(fieldname, btext).all_ids():
            lists[docnum].append(text)
    return lists if many else [values[0] if values else None for values in lists]


class _TopRemembering(collectors.TopCollector):
    """The top N by score, and every matching document number in `matched` (facets are then
    counted in one pass, not by Whoosh's facet collector at every match)."""

    def __init__(self, matched: list, **kwargs):
        # Every match must be seen: no block skipping, and no matcher replacement (which drops
        # the parts of a query that cannot reach the top N any more, such as the other
        # language's field, and with them matches that count and might have a bonus).
        super().__init__(usequality=False, replace=0, **kwargs)
        self.matched = matched

    def _collect(self, global_docnum, score):
        self.matched.append(global_docnum)
        return super()._collect(global_docnum, score)


class _SortedRemembering(collectors.SortingCollector):
    """The first N by a sort key, and every matching document number in `matched`."""

    def __init__(self, matched: list, sortedby, **kwargs):
        super().__init__(sortedby, **kwargs)
        self.matched = matched

    def collect(self, sub_docnum):
        self.matched.append(self.offset + sub_docnum)
        return super().collect(sub_docnum)


class _MarkFormatter(highlight.Formatter):
    """Whoosh formatter: text HTML-escaped, hits in <mark>, fragments joined by an ellipsis."""

    def __call__(self, text, fragments):
        # Each fragment already carries "…" where it was cut, so they join with a space
        # (joining with " … " as well gave "… … …").
        return " ".join(self._fragment(f) for f in fragments)

    @staticmethod
    def _fragment(fragment) -> str:
        out = []
        index = fragment.startchar
        text = fragment.text
        for t in fragment.matches:
            if t.startchar < index:
                continue
            out.append(html.escape(text[index:t.startchar], quote=False))
            out.append("<mark>" + html.escape(text[t.startchar:t.endchar], quote=False)
                       + "</mark>")
            index = t.endchar
        out.append(html.escape(text[index:fragment.endchar], quote=False))
        prefix = "…" if fragment.startchar > 0 else ""
        suffix = "…" if fragment.endchar < len(text) else ""
        return prefix + "".join(out).strip() + suffix
