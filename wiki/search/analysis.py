"""How text becomes index terms: tokenizers, Dutch and English analysis, stop words, compound
parts and stemming.

Pages are analysed in their own language (front matter `lang`, else the wiki's default) with a
snowball stemmer and accent folding, and a query is analysed for both languages. A word is
matched in one field per language, `all_<lang>`, which holds a page's name, title and text (and
for Dutch pages the leading and trailing parts of long compound words, at a low weight; see
README: "Search" for what that catches).
"""

import bisect
import re
from collections import defaultdict

from whoosh import formats
from whoosh.analysis import (
    CharsetFilter,
    Filter,
    LowercaseFilter,
    RegexTokenizer,
    StemFilter,
    StopFilter,
    Token,
)
from whoosh.lang import stopwords_for_language
from whoosh.support.charset import accent_map

LANGS = ("en", "nl")
COMPOUND_MIN = 8  # Dutch words at least this long are split into parts
COMPOUND_PART = 4  # shortest part kept
PART_WEIGHT = 0.3  # a compound's part counts this much of a whole word
PART_BASE = 1 << 20  # parts follow the text from this position on, two apart: no phrase
# uses them, and they do not count in a page's length
SECTION = "\x1e"  # separates the name, title and text in `all_<lang>` (takes a position,
# so no phrase spans two)


# Question words that Whoosh's stop lists lack (see query.QUESTION_WORDS): dropped from
# question-like queries, whose other words carry the meaning.
QUESTION_STOPS = frozenset(re.findall(r"\w+",
    "could would may wanneer waar waarom welke welk kun kunt kunnen mag moeten wordt"))


def _stoplist(lang: str) -> frozenset[str]:
    return frozenset(w.translate(accent_map) for w in stopwords_for_language(lang))


class Analysis:
    """The analyzers, built once per Search (nothing happens at import)."""

    def __init__(self):
        self.stops = {lang: _stoplist(lang) for lang in LANGS}
        self.all_stops = frozenset().union(*self.stops.values())
        self.question_stops = self.all_stops | QUESTION_STOPS
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

    def language_of(self, words: list[str]) -> str | None:
        """The language a query is written in, told by its stop words ("hoe", "ik", "mijn"
        against "how", "I", "my"); None when they do not tell."""
        folded = [self.fold(w) for w in words]
        votes = {lang: sum(w in self.stops[lang] for w in folded) for lang in LANGS}
        best = max(votes, key=votes.__getitem__)
        return best if votes[best] > 0 and list(votes.values()).count(votes[best]) == 1 \
            else None

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
    is made of parts or of a part and a word, and `WordPositions` leaves them out of the
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


class WordPositions(formats.Positions):
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

