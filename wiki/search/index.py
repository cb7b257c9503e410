"""The index on disk: its generations, keeping up with git, rebuilding, and the searcher.

The index is derived data in `settings.index`: a symlink `current` points at one generation
folder `gen-…`, which holds the Whoosh index and a small file with the commit it reflects.
`rebuild()` writes a fresh generation from git and swaps the symlink (atomic); `catch_up()`
applies the commits `recorded..HEAD`. A catalog listener calls `catch_up()` after every
catch-up of the catalog (in the web app from a background thread, wiki/search/indexer.py),
and every search first catches up to HEAD itself, so a page is findable by the very next
search in any process.

Threads live in the database, not in git: a Discussions listener writes a changed thread at
once, and while a rebuild runs its changes are noted in a journal and applied to the new
generation after the swap. A search runs on a searcher of the current generation; a damaged
index shows up only when read, and is then rebuilt.
"""

import contextlib
import ctypes
import gc
import itertools
import logging
import os
import pickle
import shutil
import struct
import threading
import time
import uuid
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

from whoosh import index
from whoosh.query import Every

from wiki import paths
from wiki.errors import RepositoryBusy
from wiki.locks import file_lock
from wiki.search.analysis import LANGS, Analysis
from wiki.search.documents import (
    FILE_PREFIX,
    QUESTION_PREFIX,
    SCHEMA_VERSION,
    THREAD_PREFIX,
    Documents,
    Page,
    schema,
)

log = logging.getLogger(__name__)

MERGE_AFTER_SEGMENTS = 8  # a save merges index segments only once this many have piled up
# The background indexer tidies instead: segments under this many documents (saves, bursts of
# saves) are merged into the one it writes, and beyond TIDY_SEGMENTS what is left besides the
# largest segment is merged too. The largest (a rebuild's) is never rewritten: seconds.
SMALL_SEGMENT_DOCS = 200
TIDY_SEGMENTS = 3
COLLECT_AFTER_WRITES = 8  # index writes between full garbage collections
COMMIT_FILE = "kennis-commit"
# While a rebuild runs, thread changes are noted here (by any process) and applied to the new
# generation after the swap: threads live in the database, not in git, so the recorded commit
# cannot catch them up.
THREAD_JOURNAL = "threads-changed"
CURRENT = "current"
# A wiki this small is (re)built inline, in well under a second; larger ones in a thread while
# search answers "indexing".
INLINE_REBUILD_PAGES = 500
WRITER_TIMEOUT = 120.0  # seconds a writer waits for another process's writer (never fails fast)
BATCH = 500  # blobs read from git at once during a rebuild
# What reading a damaged index raises (a bad compressed block, a short read, a broken
# pickle): always a rebuild, even when other parts of the index still read fine.
DAMAGE = (zlib.error, struct.error, EOFError, OSError, pickle.UnpicklingError)


class IndexUnavailable(Exception):
    """The index is missing, broken or from another schema version."""


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



def _return_free_memory() -> None:
    """glibc's malloc_trim: give the free parts of the heap back to the system (a no-op where
    the C library has no such call)."""
    try:
        trim = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)


def _tidy(writer, segments):
    """Whoosh merge policy of the background indexer: the small segments go into the one being
    written (dropping their deleted documents), so a live index keeps two or three
    segments; Whoosh's own policy lets eight pile up (bench/README-search.md)."""
    from whoosh.reading import SegmentReader

    if len(segments) < 2:
        return segments
    largest = max(segments, key=lambda seg: seg.doc_count_all())
    others = [seg for seg in segments if seg is not largest]
    merged = [seg for seg in others if seg.doc_count_all() < SMALL_SEGMENT_DOCS]
    if len(segments) - len(merged) >= TIDY_SEGMENTS:
        merged = others
    for seg in merged:
        reader = SegmentReader(writer.storage, writer.schema, seg)
        try:
            writer.add_reader(reader)
        finally:
            reader.close()
    return [seg for seg in segments if seg not in merged]


class Index:
    def __init__(self, folder: Path, lock_dir: Path, repo, catalog, documents: Documents,
                 analysis: Callable[[], Analysis]):
        self.folder = Path(folder)
        self.lock_path = Path(lock_dir) / "search.lock"
        self.rebuild_lock_path = Path(lock_dir) / "search-rebuild.lock"
        self.repo = repo
        self.catalog = catalog
        self.documents = documents
        self._analysis = analysis
        self._schema = None
        self._searcher = None
        self._writes_since_collect = 0
        self._searcher_target: str | None = None
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._rebuilding = threading.Event()
        self.questions = None  # wiki.questions.Questions (see Search.index_questions)
        self.discussions = None  # wiki.discussions.Discussions: threads (see Search.index_also)

    # --- setup ---------------------------------------------------------------------------

    @property
    def schema(self):
        if self._schema is None:
            self._schema = schema(self._analysis())
        return self._schema

    def current(self) -> Path | None:
        link = self.folder / CURRENT
        try:
            target = os.readlink(link)
        except OSError:
            return None
        return self.folder / target

    def _open(self, gen: Path | None = None):
        """Open the current generation (IndexUnavailable when missing, broken or outdated)."""
        gen = gen or self.current()
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
        if self.current() is None:
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
        gen = self.current()
        return self._read_marker(gen)[1] if gen else None

    # --- keeping up with git -------------------------------------------------------------

    def follows_changes(self) -> bool:
        """Whether a change is to be indexed now: there is an index, and this process is not
        rebuilding it (a rebuild catches up after its swap)."""
        return not self._rebuilding.is_set() and self.current() is not None

    def ensure_current(self, hints: dict[str, str] | None = None, tidy: bool = False) -> bool:
        """Make the index reflect HEAD; False while a full (re)build is still running.
        `tidy`: also merge small segments (see `catch_up`)."""
        try:
            self.catch_up(hints, tidy)
            return True
        except IndexUnavailable as exc:
            log.info("search index unavailable (%s): rebuilding", exc)
            return self._schedule_rebuild()

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

    def catch_up(self, hints: dict[str, str] | None = None, tidy: bool = False) -> int:
        """Apply the commits between the recorded one and HEAD; returns pages (re)indexed.

        `tidy` (the background indexer, off the request path): merge the small segments in
        the same commit, or on their own when there is nothing to catch up (a search got
        there first) but more than TIDY_SEGMENTS segments.
        """
        with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
            gen = self.current()
            ix = self._open(gen)
            try:
                recorded = self._read_marker(gen)[1]
                head = self.repo.head()
                if recorded == head:
                    if tidy and len(ix._segments()) > TIDY_SEGMENTS:
                        writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
                        writer.commit(mergetype=_tidy)
                        self._collect_now_and_then(always=True)
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
                        writer.update_document(**self.documents.page(page, texts[page.blob]))
                    for path, found in files.items():
                        if found is None:
                            writer.delete_by_term("key", FILE_PREFIX + path)
                        else:
                            writer.update_document(**self.documents.file(*found))
                except BaseException:
                    writer.cancel()
                    raise
                if tidy:
                    writer.commit(mergetype=_tidy)
                else:
                    # Merging costs about 30 ms; a save pays it only every few commits.
                    writer.commit(merge=len(writer.segments) >= MERGE_AFTER_SEGMENTS)
                self._write_marker(gen, head)
                self._collect_now_and_then(always=tidy)
                return len(pages)
            finally:
                ix.close()

    def _collect_now_and_then(self, always: bool = False) -> None:
        """Whoosh's writers leave their segment buffers in reference cycles that Python's
        collector reaches late: measured, a worker grew from 100 to 400 MB over 300 saves and
        fell back to 120 MB after one full collection (about 35 ms). Collecting after every
        few index writes keeps the memory flat for a few ms per save on average.

        `always` (the background indexer, off the request path): after every write, and the
        freed memory goes back to the system too. Measured at 10,000 pages: 60 saves took a
        worker from 134 to 173–252 MB; a collection brought it to 171, returning glibc's
        free heap (per-thread arenas keep theirs) to 141 MB."""
        self._writes_since_collect += 1
        if always or self._writes_since_collect >= COLLECT_AFTER_WRITES:
            self._writes_since_collect = 0
            gc.collect()
            if always:
                _return_free_memory()

    def _reachable(self, ancestor: str, head: str) -> bool:
        try:
            return self.repo.is_ancestor(ancestor, head)
        except Exception:  # an unknown commit (history rewritten)
            return False

    def _changed_since(self, since: str, head: str
                       ) -> tuple[list[Page], set[str], dict[str, tuple | None]]:
        """(pages to (re)index, page keys gone, file path -> Documents.file arguments or
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
                    elif path and self.documents.attachments is not None \
                            and paths.page_of_file(path):
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
            pages.append(Page(key=key, name=paths.from_file(found[0]) or found[0],
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

    # --- threads (from the database, not from git) ---------------------------------------

    def put_thread(self, thread_id: int, thread) -> None:
        """Write one thread's document (`thread`: wiki.discussions.ThreadDocument), or remove
        it when the thread is gone (None)."""
        with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
            self._note_thread(thread_id)
            ix = self._open()
            try:
                writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
                try:
                    if thread is None:
                        writer.delete_by_term("key", f"{THREAD_PREFIX}{thread_id}")
                    else:
                        writer.update_document(**self.documents.thread(thread))
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
            finally:
                ix.close()

    def put_question(self, question_id: int, question) -> None:
        """Write one question's document (wiki.questions.QuestionDocument), or remove it."""
        with file_lock(self.lock_path, timeout=WRITER_TIMEOUT):
            ix = self._open()
            try:
                writer = ix.writer(timeout=WRITER_TIMEOUT, delay=0.05)
                try:
                    writer.delete_by_term("key", f"{QUESTION_PREFIX}{question_id}")
                    if question is not None:
                        writer.add_document(**self.documents.question(question))
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
            finally:
                ix.close()

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
                    writer.update_document(**self.documents.thread(thread))
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
                            page = Page(key=info.key, name=info.name, blob=info.blob,
                                         author=info.author, updated=info.updated)
                            writer.add_document(**self.documents.page(page, texts[info.blob]))
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
        if self.questions is not None:
            for question in self.questions.all_for_index():
                writer.add_document(**self.documents.question(question))
        if self.discussions is not None:
            for thread in self.discussions.all_threads_for_index():
                writer.add_document(**self.documents.thread(thread, langs))
        if self.documents.attachments is None or head is None:
            return
        # A file's own last change would take a `git log` per folder; in a rebuild it carries
        # its page's (the catch-up after each commit records the file's own).
        pages = {info.key: info for info in infos}
        for path, blob in sorted(self.repo.tree(head).items()):
            page = paths.page_of_file(path)
            if page is None:
                continue
            info = pages.get(paths.key(page))
            writer.add_document(**self.documents.file(
                path, blob, info.author if info else "", info.updated if info else None,
                langs))

    def _swap(self, gen: Path) -> None:
        old = self.current()
        tmp = self.folder / f".{CURRENT}.{uuid.uuid4().hex}"
        os.symlink(gen.name, tmp)
        os.replace(tmp, self.folder / CURRENT)  # atomic: readers see the old or the new index
        if old is not None and old != gen:
            # Open searchers keep their files (POSIX); new ones follow the link.
            shutil.rmtree(old, ignore_errors=True)

    def _remove_stale(self) -> None:
        """Generations left by an interrupted rebuild (called under the rebuild lock)."""
        current = self.current()
        for child in self.folder.iterdir():
            if child.name.startswith("gen-") and child != current:
                shutil.rmtree(child, ignore_errors=True)

    # --- reading -------------------------------------------------------------------------

    def search_with(self, work, failed):
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
                self.drop_searcher()
            except Exception as exc:
                self.drop_searcher()
                quiet.leaked()
                if not isinstance(exc, DAMAGE) and self._readable():
                    # The query failed, not the index: no rebuild (which the same query
                    # could otherwise set off again and again).
                    log.exception("a search failed on a readable index")
                    return failed
                # A truncated or damaged segment shows up only when read: rebuild it.
                log.exception("the search index is damaged: rebuilding")
        gen = self.current()
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
                self.drop_searcher()
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
        gen = self.current()
        target = str(gen) if gen else None
        searcher = self._searcher
        # Not Searcher.refresh(): it reuses segment readers and so keeps showing documents
        # deleted since (whoosh-reloaded 2.7.5); a new searcher after each commit is cheap.
        if searcher is not None and target == self._searcher_target and \
                searcher._ix.latest_generation() == searcher.reader().generation():
            return searcher
        self.drop_searcher()
        ix = self._open(gen)
        self._searcher = ix.searcher()
        self._searcher_target = target
        return self._searcher

    def drop_searcher(self) -> None:
        if self._searcher is not None:
            with contextlib.suppress(Exception):
                self._searcher.close()
        self._searcher = None
        self._searcher_target = None
