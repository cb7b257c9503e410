"""Answering a query: the read filter, relevance, facets, snippets and "did you mean".

Read permissions are a Whoosh `filter` built from `Permissions.read_filter`, so totals,
facets, suggestions, snippets and pages only ever count what the caller may read.

Relevance adds a bonus for the word in the title, headings or name, from the small
`title_<lang>`, `headings_<lang>` and `name` fields: so a two-word search intersects four
posting lists (one `all_<lang>` field per language), not sixteen, and the title still wins.
"""

import bisect
import contextlib
import html
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from whoosh import collectors, highlight, scoring, sorting
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

from wiki import paths
from wiki.permissions import Permissions
from wiki.search.analysis import LANGS, Analysis
from wiki.search.documents import KINDS, naive_utc
from wiki.search.query import MIN_PREFIX, Clause, Filters, is_question
from wiki.users import Account

SNIPPET_CHARS = 220
HIGHLIGHT_CHARS = 20_000  # hits are looked for this far into a page
FEW_RESULTS = 3  # at most this many results: look for "did you mean"
# Questions and partial matches: the pages with the most of the words are scored, one word
# fewer until there are this many (a page with few of the words cannot reach the top).
CANDIDATES = 200
# How much matching more of a question's words counts: the score is multiplied by
# (words matched / words) ** COORDINATION (tuned on bench/search_quality.py: 0.5 and 1.0
# within 0.02 of each other; a page with every word does not win by that alone).
COORDINATION = 1.0
# A question's words in a title or heading count this share of a keyword's bonus: a question
# has many words, and one of them in a title (`get`, `find`) says little about the page.
QUESTION_BONUS = 0.1
FACETS = (("namespace", "ns", False), ("tag", "tags", True), ("author", "author_id", False),
          ("kind", "kind", False))  # (name, field, several values per document)
# Relevance: a word in the title counts far more than one in the text (a bonus on top of the
# score in `all_<lang>`).
BONUS = {"title": 6.0, "name": 4.0, "headings": 2.0}
OTHER_LANGUAGE = 0.5  # a question's words in the other language's text
FIELD_OF = {"title": "title", "headings": "headings", "body": "all"}  # body: is the whole text


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
    question_id: int | None = None  # kind "question" (path is its namespace)


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



class Ranking:
    """Runs a parsed query on a searcher, for one account."""

    def __init__(self, permissions: Permissions, analysis: Callable[[], Analysis],
                 default_language: str):
        self.permissions = permissions
        self._analysis = analysis
        self.default_language = default_language
        self._acl_cache: dict = {}

    @property
    def analysis(self) -> Analysis:
        return self._analysis()

    def acl(self, searcher, account: Account) -> tuple[set | None, set | None]:
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


    def run(self, searcher, text, groups, filters, account, offset, limit, sort) -> Results:
        question = is_question(text, groups, self.analysis.all_stops)
        language = None
        if question:
            language = self.analysis.language_of(
                [c.text for g in groups for c in g if c.kind == "word"])
        positive, restrict, mask = self._build(groups, filters, question, language)
        restrict = [q for q in restrict if q is not None]
        if not positive and not restrict:
            return Results(query=text, total=0, hits=(), offset=offset, limit=limit)
        allowed, denied = self.acl(searcher, account)
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
        partial = False
        results = None
        if question and len(matches) > 1:
            # Relevance over every word, with a mild reward for matching more of them: not
            # "the most words first", which let a long page full of common words beat the
            # page about the question (issue 15).
            counts = self._counts(searcher, matches, flt, msk)
            partial = max(counts.values(), default=0) < len(matches)
        else:
            results = run(And(matches) if matches else Every())
            if results.is_empty() and len(matches) > 1:
                # No page has every keyword: the best pages with some of them, ranked alike.
                counts = self._counts(searcher, matches, flt, msk)
                partial = True
        if counts is not None:
            everyone = set(counts)
            chosen = everyone if sort == "date" else set(
                _most_words(counts, max(CANDIDATES, offset + limit)))
            if weighting is not None:
                weighting.words, weighting.clauses = counts, len(matches)
                if question:
                    weighting.bonus = {d: b * QUESTION_BONUS for d, b in weighting.bonus.items()}
            results = run(Require(Or(matches), _Documents(chosen, searcher)))
            # The total and facets count every readable page with any of the words (only
            # the likeliest are scored: a page with few of the words cannot reach the top).
            matched[:] = sorted(everyone)
        total = len(matched)
        terms = self._highlight_terms(searcher, Or(matches + bonus) if matches else None)
        hits = tuple(self._hit(h, terms) for h in results[offset:offset + limit])
        suggestion = None
        if total <= FEW_RESULTS or partial:
            suggestion = self._did_you_mean(searcher, text, groups, flt, msk)
        return Results(query=text, total=total, hits=hits, suggestion=suggestion,
                       partial=partial, facets=self._facets(searcher, matched),
                       offset=offset, limit=limit)

    def _build(self, groups, filters: Filters, question: bool = False,
               language: str | None = None):
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
                    words = self._clause(Clause("word", f"{c.field} {c.text}"), False)
                    if words is not None:
                        if c.negate:
                            mask.append(words.match)
                        else:
                            positive.append(words)
                else:
                    (mask if c.negate else restrict).append(q)
                continue
            qs = [self._clause(c, drop_stops, question, language) for c in group]
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
            return DateRange("updated", naive_utc(start), None)
        return None

    def _clause(self, clause: Clause, drop_stops: bool, question: bool = False,
                language: str | None = None) -> "_Words | None":
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
        stops = a.question_stops if question else a.all_stops
        if drop_stops and clause.kind == "word" and a.fold(clause.text) in stops:
            return None
        for lang in LANGS:
            terms = a.terms(a.lang[lang], clause.text)
            if terms:
                # A question written in one language is mostly about pages in it.
                weight = OTHER_LANGUAGE if language and lang != language else 1.0
                match.append(_words_query(f"{base}_{lang}", terms, boost * weight))
                bonus += [_words_query(f"{f}_{lang}", terms, BONUS[f] * weight)
                          for f in extra]
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
                   file_path=ref if kind == "attachment" else "",
                   question_id=int(ref) if kind == "question" and ref.isdigit() else None)

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

    def suggestions(self, searcher, account: Account, words: list[str],
                    limit: int) -> list[Suggestion]:
        """Titles with words starting with every word typed, among what the account may read."""
        query = And([Prefix("suggest", w) for w in words])
        allowed, denied = self.acl(searcher, account)
        if allowed is not None and not allowed:
            return []  # Whoosh would read an empty filter as "no filter"
        results = searcher.search(query, limit=limit, filter=allowed, mask=denied or None)
        return [Suggestion(title=h["title"], path=h["path"]) for h in results]



def _most_words(counts: Counter[int], enough: int) -> dict[int, int]:
    """The documents that match the most clauses, with how many they match: all with the
    highest count, then the next counts down until there are `enough` (or the count is
    one)."""
    if not counts:
        return {}
    sizes = Counter(counts.values())
    need, chosen = max(sizes), 0
    while need > 1 and chosen + sizes[need] < enough:
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
    every match). For questions and partial matches, `words` holds how many of the query's
    `clauses` each document has: the score is multiplied by (words / clauses) **
    COORDINATION, a reward for more words that does not outweigh relevance."""

    use_final = True

    def __init__(self, bonus: dict[int, float]):
        super().__init__()
        self.bonus = bonus
        self.words: dict[int, int] = {}
        self.clauses = 0

    def final(self, searcher, docnum, score):
        score += self.bonus.get(docnum, 0.0)
        if not self.clauses:
            return score
        return score * (self.words.get(docnum, 0) / self.clauses) ** COORDINATION


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
