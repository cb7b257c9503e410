"""Full-text search: the one door to Whoosh (`whoosh-reloaded`, imported as `whoosh`).

`Search` is the service the views, the command line and the catalog use; its parts:

- wiki/search/query.py: the query language users type, parsed without Whoosh;
- wiki/search/analysis.py: how text becomes index terms (languages, stemming, compounds);
- wiki/search/documents.py: the schema and the documents of pages, threads and files;
- wiki/search/index.py: the index on disk, kept up with git, rebuilt, read;
- wiki/search/ranking.py: the read filter, relevance, facets, snippets, "did you mean".

- wiki/search/indexer.py: the web worker's background thread that follows saves.

Whoosh is imported only inside this package. A page is findable by the very next search after
its save returns, in any process: a catalog listener brings the index up to the catalog's
commit after every catch-up (in the web app from a background thread, so the save does not
wait for Whoosh), and every search first catches the index up to HEAD itself when it is
behind. A Discussions listener writes a changed thread at once.
"""

import logging
from pathlib import Path

from wiki.permissions import Permissions
from wiki.search.analysis import LANGS, Analysis
from wiki.search.documents import KINDS, Documents
from wiki.search.index import Index, IndexUnavailable
from wiki.search.indexer import BackgroundIndexer
from wiki.search.query import MAX_QUERY_CHARS, Filters, parse
from wiki.search.ranking import Hit, Ranking, Results, Suggestion
from wiki.users import Account

__all__ = ["KINDS", "Filters", "Hit", "IndexUnavailable", "Results", "Search", "Suggestion"]

log = logging.getLogger(__name__)


class Search:
    def __init__(self, folder: Path, lock_dir: Path, repo, catalog, renderer,
                 permissions: Permissions, default_language: str = "en",
                 background: bool = False):
        """`background`: index saves in a thread of this process (long-lived processes only:
        the web app; see wiki/search/indexer.py)."""
        self.permissions = permissions
        self.default_language = default_language if default_language in LANGS else "en"
        self._analysis: Analysis | None = None
        self.documents = Documents(renderer, catalog, self.default_language)
        self.index = Index(folder, lock_dir, repo, catalog, self.documents, self._analyzers)
        self.ranking = Ranking(permissions, self._analyzers, self.default_language)
        self.indexer = BackgroundIndexer(self.index) if background else None

    def index_also(self, discussions, attachments) -> None:
        """Index discussion threads and attached files besides pages (built after Search)."""
        self.index.discussions = discussions
        self.documents.attachments = attachments
        discussions.listeners.append(self.on_thread_change)

    def index_questions(self, questions) -> None:
        """Index questions with their answers too (kind `question`, issue 18)."""
        self.index.questions = questions
        questions.listeners.append(self.on_question_change)

    def on_question_change(self, question_id: int) -> None:
        """Questions listener: re-index one question right away, like a thread."""
        questions = self.index.questions
        if questions is None or self.index.current() is None:
            return  # no index yet: the first search builds it with every question
        try:
            self.index.put_question(question_id, questions.document(question_id))
        except IndexUnavailable:
            pass
        except Exception:
            log.exception("the search index could not follow question %s", question_id)

    def _analyzers(self) -> Analysis:
        """The analyzers, built on first use (nothing happens at import or at start-up, and a
        wiki that never searches never builds them)."""
        if self._analysis is None:
            self._analysis = Analysis()
        return self._analysis

    # --- listeners -----------------------------------------------------------------------

    def on_catalog_change(self, changes, full: bool) -> None:
        """Catalog listener: bring the index to HEAD (the texts in `changes` save git reads)."""
        if not self.index.follows_changes():
            # Rebuilding here (it catches up after the swap), or no index yet: the first
            # search builds it, so wikis that never search (and every test) pay nothing.
            return
        hints = {c.blob: c.text for c in changes if c.blob and c.text is not None}
        if self.indexer is not None:
            self.indexer.note(hints)
            return
        try:
            self.index.ensure_current(hints)
        except Exception:
            # The commit is made; a search index that cannot follow must not turn the save
            # into an error. The recorded commit stays behind, so the next search catches up.
            log.exception("the search index could not catch up")

    def on_thread_change(self, thread_id: int, page_name: str | None = None) -> None:
        """Discussions listener: re-index one thread right away (a new comment is findable
        as soon as its POST returns); a thread that is gone leaves the index."""
        discussions = self.index.discussions
        if discussions is None or self.index.current() is None:
            return  # no index yet: the first search builds it with every thread
        try:
            self.index.put_thread(thread_id, discussions.thread_document(thread_id))
        except IndexUnavailable:
            pass  # the next search rebuilds the index, threads included
        except Exception:
            # The comment is saved; an index that cannot follow must not turn it into an error.
            log.exception("the search index could not follow thread %s", thread_id)

    # --- searching -----------------------------------------------------------------------

    def search(self, account: Account, text: str, filters: Filters | None = None,
               offset: int = 0, limit: int = 20, sort: str = "relevance") -> Results:
        """Ranked results the account may read, with snippets, facets and "did you mean"."""
        self.permissions.require_read(account)
        filters = filters or Filters()
        text = (text or "").strip()
        offset, limit = max(0, offset), max(1, min(limit, 100))
        groups = parse(text)
        if not groups and not any(vars(filters).values()):
            return Results(query=text, total=0, hits=(), offset=offset, limit=limit)
        found = self.index.search_with(
            lambda s: self.ranking.run(s, text, groups, filters, account, offset, limit, sort),
            failed=Results(query=text, total=0, hits=(), offset=offset, limit=limit))
        if found is None:
            return Results(query=text, total=0, hits=(), indexing=True, offset=offset,
                           limit=limit)
        return found

    def suggest(self, account: Account, text: str, limit: int = 8) -> list[Suggestion]:
        """Titles for as-you-type suggestions: titles with words starting with every word typed."""
        self.permissions.require_read(account)
        analysis = self._analyzers()
        words = analysis.terms(analysis.simple, (text or "")[:MAX_QUERY_CHARS])
        if not words:
            return []
        limit = max(1, min(limit, 20))
        return self.index.search_with(
            lambda s: self.ranking.suggestions(s, account, words, limit), failed=[]) or []

    # --- the index (command line, checks, benchmarks) ------------------------------------

    def rebuild(self, wait: bool = True) -> int:
        """Build a fresh index from git and swap it in; returns the pages (see Index.rebuild)."""
        return self.index.rebuild(wait)

    def flush(self) -> None:
        """Wait until the changes this process saved are in the index (the background
        indexer, when there is one, is done with them)."""
        if self.indexer is not None:
            self.indexer.flush()

    def catch_up(self, hints: dict[str, str] | None = None) -> int:
        """Apply the commits since the recorded one; returns pages (re)indexed."""
        return self.index.catch_up(hints)

    def recorded(self) -> str | None:
        """The commit the index reflects (None when there is no usable index)."""
        return self.index.recorded()

    def check(self) -> list[str]:
        """Problems with the index, in plain words (empty when healthy)."""
        return self.index.check()

    def segments(self) -> tuple[int, int]:
        """(segments, deleted documents not yet merged away) of the current index."""
        return self.index.segments()
