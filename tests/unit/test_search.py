"""wiki/search/ on its own: analysis, the query language, ranking, keeping up with git,
recovery, several writing processes and the read filter (no Flask app)."""

import multiprocessing
import shutil
import tarfile
import zlib
from pathlib import Path

import pytest

from wiki import config, home
from wiki.repo import Author, Write
from wiki.search import Filters
from wiki.services import build_services

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus" / \
    "tldr-pages-en-nl.tar.gz"

PAGES = {
    "Team/Medewerkers": "---\nlang: nl\ntags: [hr]\n---\n# Medewerkers\n\n"
                        "De enquête over kennisdeling voor alle medewerkers van de afdeling.\n",
    "Team/Onboarding": "# Onboarding\n\n## First day\n\nNew colleagues get a laptop and a badge. "
                       "The café serves lunch.\n",
    "Ops/Processes": "---\ntags: [ops]\n---\n# Killing processes\n\n"
                     "Use `kill -9` to stop running processes. Ask ops first.\n",
    "Ops/Backups": "# Backups\n\nThe nightly backup copies every database. A process "
                   "checks it.\n",
    "Notes": "# Notes\n\nThe quick brown fox jumps over the lazy dog.\n",
    "Mentions": "# Misc\n\nSomething about a backup, once.\n",
    "Html": "# Html\n\nWrite `<script>alert(1)</script>` as code.\n",
}


USERS = (("editor", "editor", ""), ("reader", "reader", ""), ("carol", "editor", ""),
         ("admin", "admin", ""))


def _fill(services, pages=PAGES, users=USERS):
    for name, role, _ in users:
        services.users.create(name, "correct-horse-battery", role=role)
    editor = services.users.by_name("editor")
    for name, text in pages.items():
        services.pages.save(editor, name, text)
    return services


@pytest.fixture
def wiki_users():
    return USERS  # made once, in the pristine wiki every test's wiki is copied from


@pytest.fixture
def wiki(services):
    """A wiki of its own to change: the users and one page, Notes."""
    return _fill(services, {"Notes": PAGES["Notes"]}, users=())


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    """The same, shared by the tests that only search (building it is the slow part)."""
    services = build_services(config.load(tmp_path_factory.mktemp("search"), environ={}))
    home.initialize(services)
    yield _fill(services)
    services.db.dispose()


def who(services, name="editor"):
    return services.users.by_name(name)


def find(services, query, user="editor", **kwargs):
    filters = Filters(**{k: kwargs.pop(k) for k in list(kwargs) if k in Filters.__annotations__})
    return services.search.search(who(services, user), query, filters, **kwargs)


def paths_of(results):
    return [h.path for h in results.hits]


# --- language -----------------------------------------------------------------------------

def test_stemming_and_accents_in_both_languages(shared):
    assert paths_of(find(shared, "medewerker")) == ["Team/Medewerkers"]  # nl plural
    assert paths_of(find(shared, "enquete")) == ["Team/Medewerkers"]  # ê folded
    assert paths_of(find(shared, "enquête")) == ["Team/Medewerkers"]
    assert paths_of(find(shared, "cafe")) == ["Team/Onboarding"]  # é folded in English
    assert "Ops/Processes" in paths_of(find(shared, "kill process"))  # en: killing, processes
    assert "Team/Onboarding" in paths_of(find(shared, "colleague"))  # plural in the text


def test_dutch_compounds_are_found_by_their_parts(shared):
    assert "Team/Medewerkers" in paths_of(find(shared, "kennis"))  # kennisdeling
    assert paths_of(find(shared, "deling")) == ["Team/Medewerkers"]


# --- query language -----------------------------------------------------------------------

def test_words_are_anded_and_phrases_are_exact(shared):
    assert paths_of(find(shared, "backup database")) == ["Ops/Backups"]
    assert find(shared, "backup laptop").partial  # no page has both: best partial matches
    assert paths_of(find(shared, '"quick brown fox"')) == ["Notes"]
    assert find(shared, '"brown quick fox"').total == 0


def test_or_exclude_and_prefix(shared):
    either = paths_of(find(shared, "laptop OR nightly"))
    assert {"Ops/Backups", "Team/Onboarding"} <= set(either) and "Notes" not in either
    without = paths_of(find(shared, "process -backup"))
    assert "Ops/Processes" in without and "Ops/Backups" not in without
    assert paths_of(find(shared, "onboard*"))[0] == "Team/Onboarding"  # its title
    assert "Ops/Backups" in paths_of(find(shared, "backu*"))


def test_filters_as_syntax_and_as_ui_filters(shared):
    assert paths_of(find(shared, "tag:hr")) == ["Team/Medewerkers"]
    assert paths_of(find(shared, "", tag="ops")) == ["Ops/Processes"]
    assert sorted(paths_of(find(shared, "ns:ops"))) == ["Ops/Backups", "Ops/Processes"]
    assert sorted(paths_of(find(shared, "process", prefix="Ops"))) == ["Ops/Backups",
                                                                      "Ops/Processes"]
    assert paths_of(find(shared, "path:team badge")) == ["Team/Onboarding"]
    assert find(shared, "author:editor").total == len(PAGES)
    assert find(shared, "author:carol").total == 0
    assert find(shared, "since:2000-01-01 fox").total == 1
    assert find(shared, "since:2999-01-01 fox").total == 0
    assert find(shared, "fox", since="2999-01-01").total == 0
    assert paths_of(find(shared, "title:backups")) == ["Ops/Backups"]
    assert find(shared, "title:fox").total == 0  # only in the body


def test_shell_and_git_syntax_is_just_text(shared):
    for query in ("-rf", "--force", "$(rm -rf /)", "HEAD~1 --output=/x", "`ls`; echo |",
                  "key:notes", "lang:en", "a:b:c", '"unclosed', "*", "(", "[a TO z]"):
        found = find(shared, query)
        assert found.total >= 0 and not found.indexing, query
    # no such field: the words count, as if typed without the colon
    assert paths_of(find(shared, "key:notes")) == paths_of(find(shared, "key notes"))
    assert paths_of(find(shared, "key:notes"))[0] == "Notes"
    assert paths_of(find(shared, "--lazy")) == ["Notes"]
    assert paths_of(find(shared, "-lazy")) == ["Notes"]  # only an exclusion: read as text


def test_title_matches_rank_above_a_body_mention(shared):
    # "backup" is the title of Ops/Backups; Ops/Processes never says it, Notes neither.
    assert paths_of(find(shared, "backup"))[:2] == ["Ops/Backups", "Mentions"]


def test_a_question_falls_back_to_the_best_partial_matches(shared):
    found = find(shared, "how do I stop a process that hangs on my laptop")
    assert found.partial and found.total >= 2
    assert found.hits[0].path == "Ops/Processes"


def test_a_question_ranks_the_page_about_it_above_a_long_page_of_common_words(wiki):
    editor = who(wiki)
    wiki.pages.save(editor, "Printers", "# Printer jams\n\nWhen the printer on your floor "
                    "jams, call the service desk.\n")
    # Has more of the question's words, each a common one, many times: ranking "the most
    # words first" put it on top (issue 15).
    wiki.pages.save(editor, "Newsletter", "# Newsletter\n\n" + "The office on every floor "
                    "has news. Why does the team work on this floor? Three teams work on "
                    "floor three, and the office has a printer. " * 12 + "\n")
    wiki.pages.save(editor, "Coffee", "# Coffee\n\nMachines.\n")
    question = "why does the printer on my floor jam"
    found = find(wiki, question)
    assert paths_of(found)[:2] == ["Printers", "Newsletter"]
    # The total counts every page with any of the words, and is not partial: Printers has
    # them all.
    assert found.total == 2 and not found.partial


def test_a_question_no_page_answers_fully_is_partial_and_counts_every_page(wiki, monkeypatch):
    editor = who(wiki)
    for i in range(5):
        wiki.pages.save(editor, f"Floor{i}", f"# Floor {i}\n\nA printer.\n")
    wiki.pages.save(editor, "Jams", "# Printer jams\n\nA printer on a floor may jam.\n")
    # Only the two likeliest pages are scored; the total still counts all six.
    monkeypatch.setattr("wiki.search.ranking.CANDIDATES", 2)
    found = find(wiki, "why does the printer on floor three jam")  # no page has "three"
    assert found.partial and found.total == 6 and paths_of(found)[0] == "Jams"
    assert dict(found.facets["namespace"]) == {}


def test_short_keyword_queries_still_require_every_word(wiki):
    editor = who(wiki)
    wiki.pages.save(editor, "Both", "# Both\n\nThe printer jams.\n")
    wiki.pages.save(editor, "One", "# Printer printer\n\nPrinter printer printer.\n")
    found = find(wiki, "printer jams")
    assert paths_of(found) == ["Both"] and found.total == 1 and not found.partial


def test_a_hidden_page_does_not_steer_a_question(restricted):
    wiki = restricted
    wiki.pages.save(who(wiki), "Zoo", "# Zoo\n\nA flamingo lives here.\n")
    # HR/Salaries has flamingo, budget and team; the reader may not see it.
    question = "is there a flamingo budget for the team zoo"
    assert "HR/Salaries" in paths_of(find(wiki, question, user="carol"))
    seen = find(wiki, question, user="reader")
    # Counted and ranked over what the reader may see (the starter page Help/Git says
    # "team").
    assert seen.partial and paths_of(seen)[0] == "Zoo" and "HR/Salaries" not in paths_of(seen)
    assert seen.total == len(seen.hits) == 3


def test_phrases_stay_within_the_name_title_or_text_and_ignore_compound_parts(shared):
    # Ops/Processes: its name ends in "processes", its title starts with "killing".
    assert find(shared, '"processes killing"').total == 0
    assert paths_of(find(shared, '"killing processes"')) == ["Ops/Processes"]
    assert paths_of(find(shared, '"kennisdeling voor alle medewerkers"')) == ["Team/Medewerkers"]
    assert find(shared, '"deling voor alle medewerkers"').total == 0  # a part is no word
    assert "Team/Medewerkers" in paths_of(find(shared, "kennis deling"))  # as words: parts


def dutch(services, name, text):
    services.pages.save(who(services), name, f"---\nlang: nl\n---\n# {name}\n\n{text}\n")


def test_compound_parts_neither_hide_nor_make_phrases(wiki):
    dutch(wiki, "Kennisdeling", "Wij delen graag onze kennis met collega's.")
    dutch(wiki, "Bank", "De kennisbank afdelingsmedewerker schrijft.")
    # "kennis" is also a part of the title's compound: the phrase still finds the text.
    assert paths_of(find(wiki, '"onze kennis"')) == ["Kennisdeling"]
    assert paths_of(find(wiki, '"kennisbank afdelingsmedewerker"')) == ["Bank"]
    assert find(wiki, '"bank afdeling"').total == 0  # parts of two neighbouring compounds


def test_compound_parts_do_not_make_a_page_look_long(wiki):
    dutch(wiki, "Lang", "De printer naast de personeelsadministratie en de "
          "klantenservicemedewerkers.")
    dutch(wiki, "Kort", "De printer naast de kast en de deur bij de ramen.")
    scores = {h.path: h.score for h in find(wiki, "printer").hits}
    assert scores["Lang"] > 0.8 * scores["Kort"]  # as many words: about as relevant


def test_body_searches_the_whole_text_and_title_only_the_title(shared):
    assert paths_of(find(shared, "body:nightly")) == ["Ops/Backups"]
    assert paths_of(find(shared, "heading:first")) == ["Team/Onboarding"]
    assert find(shared, "heading:laptop").total == 0


def test_totals_and_facets_count_every_match_beyond_the_first_page(wiki):
    editor = who(wiki)
    # Strong English matches first (each stronger than the last, so the top five keep
    # changing), weak Dutch ones after them: a top-N search may stop looking at the Dutch
    # field once it cannot reach the top five, but every match must still be counted.
    for i in range(12):
        wiki.pages.save(editor, f"Zoo/Zebra-{i}", f"# Zebra {i}\n\n" + "zebra " * (i + 1))
    for i in range(3):
        wiki.pages.save(editor, f"Dierentuin/Pagina{i}", f"---\nlang: nl\n---\n# Pagina {i}\n\n"
                        f"Een lange tekst over van alles, met een keer het woord zebra {i}.\n")
    found = find(wiki, "zebra", limit=5)
    assert found.total == 15 and len(found.hits) == 5
    assert dict(found.facets["namespace"]) == {"Zoo": 12, "Dierentuin": 3}
    last = find(wiki, "zebra", limit=5, offset=10)  # the last page of results
    assert sorted(paths_of(last))[:3] == [f"Dierentuin/Pagina{i}" for i in range(3)]


def test_did_you_mean_comes_from_the_index_vocabulary(shared):
    found = find(shared, "medewerkrs")
    assert found.total == 0 and found.suggestion == "medewerkers"
    assert find(shared, "backup").suggestion is None


def test_snippets_escape_text_and_mark_hits(shared):
    snippet = find(shared, "script").hits[0].snippet
    assert "<mark>script</mark>" in snippet
    assert "<script>" not in snippet and "&lt;" in snippet


def test_suggestions_complete_titles(shared):
    found = shared.search.suggest(who(shared), "kill pro")
    assert [s.path for s in found] == ["Ops/Processes"]
    assert shared.search.suggest(who(shared), "") == []


# --- keeping up with git ------------------------------------------------------------------

def test_the_index_follows_saves_renames_deletes_and_reverts(wiki):
    editor = who(wiki)
    first = wiki.pages.save(editor, "Plan", "# Plan\n\nZebra crossing.\n")
    assert paths_of(find(wiki, "zebra")) == ["Plan"]
    wiki.pages.save(editor, "Plan", "# Plan\n\nGiraffe crossing.\n")
    assert find(wiki, "zebra").total == 0 and paths_of(find(wiki, "giraffe")) == ["Plan"]
    wiki.pages.revert(editor, "Plan", first.revision)
    assert paths_of(find(wiki, "zebra")) == ["Plan"]
    wiki.pages.rename(editor, "Plan", "Archive/Plan")
    assert paths_of(find(wiki, "zebra")) == ["Archive/Plan"]
    wiki.pages.delete(editor, "Archive/Plan")
    assert find(wiki, "zebra").total == 0


def test_a_push_of_many_commits_lands_in_the_index(wiki):
    wiki.search.search(who(wiki), "anything")  # the index exists before the push
    author = Author("Pusher", "p@example.org")
    for i in range(3):
        with wiki.repo.write_lock():
            wiki.repo.commit([Write(f"Pushed/P{i}.md", f"# P{i}\n\nOctopus {i}\n".encode())],
                             f"push {i}", author, parent=wiki.repo.head())
    wiki.catalog.catch_up()  # what the post-receive step does
    assert find(wiki, "octopus").total == 3
    assert find(wiki, "author:pusher").total == 3


def test_a_deleted_or_damaged_index_is_rebuilt(wiki, settings):
    assert find(wiki, "fox").total == 1
    shutil.rmtree(settings.index)
    assert paths_of(find(wiki, "fox")) == ["Notes"]
    gen = Path(settings.index) / "current"
    for file in gen.resolve().iterdir():
        if file.suffix in (".seg", ".toc") or file.name.endswith(".trm"):
            file.write_bytes(file.read_bytes()[: max(1, file.stat().st_size // 2)])
    wiki.search.index.drop_searcher()
    found = find(wiki, "fox")
    assert not found.indexing and paths_of(found) == ["Notes"]


def test_a_search_that_fails_on_a_sound_index_does_not_rebuild_it(wiki, settings, monkeypatch,
                                                                   caplog):
    assert find(wiki, "fox").total == 1
    gen = (Path(settings.index) / "current").resolve()

    def broken(*args, **kwargs):
        raise ValueError("a bug in building this query")

    monkeypatch.setattr(wiki.search.ranking, "_bonus", broken)
    found = find(wiki, "fox")
    assert found.total == 0 and not found.indexing  # an empty answer, not "indexing"
    assert "a search failed on a readable index" in caplog.text
    monkeypatch.undo()
    assert (Path(settings.index) / "current").resolve() == gen  # the same generation
    assert wiki.search.recorded() == wiki.repo.head()
    assert paths_of(find(wiki, "fox")) == ["Notes"]


def test_a_read_error_in_the_index_rebuilds_it_even_when_the_rest_reads_fine(
        wiki, settings, monkeypatch):
    assert find(wiki, "fox").total == 1
    gen = (Path(settings.index) / "current").resolve()

    def damaged(*args, **kwargs):  # what a corrupt block of stored fields raises
        raise zlib.error("Error -3 while decompressing data: invalid distance too far back")

    monkeypatch.setattr(wiki.search.ranking, "_hit", damaged)
    find(wiki, "fox")
    monkeypatch.undo()
    assert (Path(settings.index) / "current").resolve() != gen  # rebuilt (inline: small)
    assert paths_of(find(wiki, "fox")) == ["Notes"]


def test_catch_up_from_the_recorded_commit(wiki):
    find(wiki, "fox")
    recorded = wiki.search.recorded()
    wiki.catalog.listeners.remove(wiki.search.on_catalog_change)  # as if the worker was down
    wiki.pages.save(who(wiki), "Late", "# Late\n\nPelican.\n")
    assert wiki.search.recorded() == recorded
    wiki.search.catch_up()  # what start-up (or the next search) does
    assert wiki.search.recorded() == wiki.repo.head()
    assert paths_of(find(wiki, "pelican")) == ["Late"]


def test_rebuild_swaps_in_a_fresh_folder(wiki, settings):
    find(wiki, "fox")
    before = (Path(settings.index) / "current").resolve()
    assert wiki.search.rebuild() == wiki.catalog.pages(limit=0)[0]
    after = (Path(settings.index) / "current").resolve()
    assert after != before and not before.exists()
    assert paths_of(find(wiki, "fox")) == ["Notes"]


def _save_pages(home: str, worker: int) -> None:
    services = build_services(config.load(home, environ={}))
    editor = services.users.by_name("editor")
    for i in range(3):
        services.pages.save(editor, f"W{worker}/Page{i}", f"# W{worker} {i}\n\nNarwhal.\n")
    services.db.dispose()


def test_writers_in_several_processes_wait_for_each_other(wiki, settings):
    find(wiki, "fox")  # build the index so every process writes to it
    ctx = multiprocessing.get_context("spawn")
    workers = [ctx.Process(target=_save_pages, args=(str(settings.home), w)) for w in range(3)]
    for p in workers:
        p.start()
    for p in workers:
        p.join(120)
    assert [p.exitcode for p in workers] == [0, 0, 0]
    assert find(wiki, "narwhal", limit=50).total == 9
    assert wiki.search.recorded() == wiki.repo.head()


# --- the web worker's background indexer ------------------------------------------------

@pytest.fixture
def worker(wiki, settings):
    """A web worker's services on the same home: saves are indexed by a background thread."""
    services = build_services(settings, background=True)
    find(services, "fox")  # the index exists, so saves are followed
    yield services
    services.search.flush()
    services.db.dispose()


@pytest.mark.parametrize("indexer", ["running", "off"])
def test_a_saved_page_is_found_by_the_next_search_in_every_worker(worker, settings, indexer,
                                                                  monkeypatch):
    if indexer == "off":  # the on-demand catch-up of each search alone
        monkeypatch.setattr(worker.search.indexer, "note", lambda hints: None)
    editor = who(worker)
    worker.pages.save(editor, "Deep/Er/Walrus", "# Walrus\n\nA walrus on the ice.\n")
    other = build_services(settings, background=True)  # a second worker on the same home
    try:
        assert paths_of(find(other, "walrus")) == ["Deep/Er/Walrus"]
        worker.pages.save(editor, "Deep/Er/Seal", "# Seal\n\nA seal on the ice.\n")
        assert paths_of(find(worker, "seal")) == ["Deep/Er/Seal"]
        assert paths_of(find(other, "seal")) == ["Deep/Er/Seal"]
    finally:
        other.db.dispose()


def test_a_save_returns_before_the_index_commit_and_a_burst_is_one_commit(worker,
                                                                          monkeypatch):
    from wiki.locks import file_lock

    index = worker.search.index
    commits = []
    catch_up = index.catch_up

    def counted(hints=None, tidy=False):
        pages = catch_up(hints, tidy)
        if pages:
            commits.append(pages)
        return pages

    monkeypatch.setattr(index, "catch_up", counted)
    with file_lock(index.lock_path, timeout=10):  # another worker is writing the index
        for i in range(6):
            worker.pages.save(who(worker), f"Burst/Page{i}", f"# Page {i}\n\nHeron.\n")
        assert worker.search.recorded() != worker.repo.head()  # the saves did not wait
    worker.search.flush()
    assert worker.search.recorded() == worker.repo.head()
    assert commits == [6]
    assert find(worker, "heron").total == 6


def test_the_indexer_keeps_a_live_index_at_a_few_segments(worker):
    editor = who(worker)
    for i in range(8):
        worker.pages.save(editor, f"Many/Page{i}", f"# Page {i}\n\nOtter {i}.\n")
        worker.search.flush()  # one index commit per save, the worst case
        worker.pages.save(editor, "Notes", f"# Notes\n\nThe quick brown fox, edit {i}.\n")
        worker.search.flush()
    segments, deleted = worker.search.segments()
    assert segments <= 3
    assert deleted <= 1  # the old Notes of the rebuilt segment; later edits merged away
    assert find(worker, "otter").total == 8 and find(worker, "fox").total == 1


def test_command_line_services_index_inside_the_save(wiki):
    find(wiki, "fox")
    wiki.pages.save(who(wiki), "Cli/Page", "# Cli\n\nImported puffin.\n")
    assert wiki.search.indexer is None
    assert wiki.search.recorded() == wiki.repo.head()  # before any search or flush


# --- threads and attached files -----------------------------------------------------------

def test_threads_are_found_and_follow_every_change(wiki):
    editor, carol, admin = who(wiki), who(wiki, "carol"), who(wiki, "admin")
    find(wiki, "fox")  # the index exists before the threads
    wiki.pages.save(editor, "Plan", "# Plan\n\nA plan.\n")
    posted = wiki.discussions.start(editor, "Plan", "Where to meet", "At the **lighthouse**.")
    found = find(wiki, "lighthouse")
    assert [(h.kind, h.path, h.title, h.thread_id) for h in found.hits] == \
        [("discussion", "Plan", "Where to meet", posted.thread.id)]
    assert "<mark>lighthouse</mark>" in found.hits[0].snippet and "**" not in found.hits[0].snippet
    reply = wiki.discussions.reply(carol, posted.thread.id, "Or at the windmill?")
    assert paths_of(find(wiki, "windmill")) == ["Plan"]  # right after the reply returns
    wiki.moderation.hide(admin, reply.comment.id, "off topic")
    assert find(wiki, "windmill").total == 0
    wiki.pages.rename(editor, "Plan", "Archive/Plan")
    assert paths_of(find(wiki, "lighthouse")) == ["Archive/Plan"]
    assert paths_of(find(wiki, "lighthouse", prefix="Archive/Plan")) == ["Archive/Plan"]
    assert find(wiki, "lighthouse", kind="page").total == 0
    assert find(wiki, "kind:discussion meet").total == 1
    assert find(wiki, "-kind:discussion meet", prefix="Archive/").total == 0
    kinds = find(wiki, "plan OR meet", prefix="Archive/").facets["kind"]
    assert dict(kinds) == {"page": 1, "discussion": 1}
    wiki.search.rebuild()
    assert paths_of(find(wiki, "lighthouse")) == ["Archive/Plan"]
    assert find(wiki, "windmill").total == 0


def test_a_thread_changed_while_the_index_is_rebuilt_is_not_lost(wiki, monkeypatch):
    editor = who(wiki)
    find(wiki, "fox")
    wiki.pages.save(editor, "Plan", "# Plan\n\nA plan.\n")
    listing = wiki.discussions.all_threads_for_index

    def meanwhile():  # a comment arrives after the rebuild has read the threads
        documents = list(listing())
        wiki.discussions.start(editor, "Plan", "Late news", "The albatross has landed.")
        return iter(documents)

    monkeypatch.setattr(wiki.discussions, "all_threads_for_index", meanwhile)
    wiki.search.rebuild()
    assert paths_of(find(wiki, "albatross")) == ["Plan"]


def test_attached_documents_are_found_by_their_text_or_at_least_their_name(wiki, monkeypatch):
    from tests.unit.test_attachments import docx_with_text, odt_with_text, pdf_with_text

    editor = who(wiki)
    find(wiki, "fox")
    wiki.pages.save(editor, "Team/Minutes", "# Minutes\n\nSee the files.\n")
    upload = wiki.attachments.upload
    upload(editor, "Team/Minutes", "notulen.pdf", pdf_with_text("Begroting zeventien"))
    upload(editor, "Team/Minutes", "plan.docx", docx_with_text("Kwartaalplan walvis"))
    upload(editor, "Team/Minutes", "agenda.odt", odt_with_text("Agenda pinguin"))
    upload(editor, "Team/Minutes", "damaged.pdf", b"%PDF-1.4 nothing more")
    hit = find(wiki, "begroting").hits[0]
    assert (hit.kind, hit.path, hit.title, hit.file_path) == \
        ("attachment", "Team/Minutes", "notulen.pdf", "Team/Minutes/notulen.pdf")
    assert "<mark>Begroting</mark>" in hit.snippet
    assert [h.file_path for h in find(wiki, "walvis").hits] == ["Team/Minutes/plan.docx"]
    assert [h.file_path for h in find(wiki, "pinguin").hits] == ["Team/Minutes/agenda.odt"]
    assert [h.title for h in find(wiki, "damaged").hits] == ["damaged.pdf"]  # by its name

    def failing(*args):
        raise RuntimeError("the extractor broke")

    monkeypatch.setattr(wiki.attachments, "document", failing)
    upload(editor, "Team/Minutes", "report.txt", b"Flamingo report")
    assert [h.title for h in find(wiki, "report", kind="attachment").hits] == ["report.txt"]
    monkeypatch.undo()
    wiki.attachments.delete(editor, "Team/Minutes", "notulen.pdf")
    assert find(wiki, "begroting").total == 0
    wiki.pages.rename(editor, "Team/Minutes", "Archive/Minutes")
    assert [h.file_path for h in find(wiki, "walvis").hits] == ["Archive/Minutes/plan.docx"]
    wiki.search.rebuild()
    assert [h.file_path for h in find(wiki, "walvis").hits] == ["Archive/Minutes/plan.docx"]
    assert [h.title for h in find(wiki, "flamingo").hits] == ["report.txt"]
    assert find(wiki, "begroting").total == 0


# --- permissions --------------------------------------------------------------------------

@pytest.fixture
def restricted(wiki):
    editor = who(wiki)
    wiki.pages.save(editor, "HR/Salaries", "---\ntags: [secret]\n---\n# Salaries\n\n"
                    "Confidential flamingo budget for the team.\n")
    wiki.pages.save(editor, "HR/Public/Holidays", "# Holidays\n\nFlamingo day off.\n")
    wiki.acl.set_rule("HR", "group:hr", None, actor="t")
    wiki.acl.set_rule("HR/Public", "users", None, actor="t")
    wiki.acl.add_members("hr", ["carol"], actor="t")
    return wiki


def test_unreadable_pages_never_show_in_results_counts_facets_or_suggestions(restricted):
    wiki = restricted
    found = find(wiki, "flamingo", user="reader")
    assert paths_of(found) == ["HR/Public/Holidays"] and found.total == 1
    assert "secret" not in dict(found.facets["tag"])
    assert dict(found.facets["namespace"]) == {"HR": 1}
    assert find(wiki, "confidential", user="reader").total == 0
    assert find(wiki, "tag:secret", user="reader").total == 0
    assert wiki.search.suggest(who(wiki, "reader"), "sal") == []
    # A word only a hidden page has is never offered as "did you mean".
    assert find(wiki, "confidentail", user="reader").suggestion is None
    member = find(wiki, "flamingo", user="carol")
    assert sorted(paths_of(member)) == ["HR/Public/Holidays", "HR/Salaries"]
    assert find(wiki, "confidentail", user="carol").suggestion == "confidential"
    assert [s.path for s in wiki.search.suggest(who(wiki, "carol"), "sal")] == ["HR/Salaries"]
    assert "HR/Salaries" not in paths_of(find(wiki, "flamingo budget", user="editor"))
    assert "HR/Salaries" in paths_of(find(wiki, "flamingo budget", user="admin"))


def test_threads_and_files_of_an_unreadable_page_never_show(restricted):
    wiki = restricted
    editor, carol = who(wiki), who(wiki, "carol")
    wiki.pages.save(editor, "Board", "# Board\n\nOpen to all.\n")
    wiki.pages.save(editor, "Board/Secret", "# Secret\n\nNothing.\n")
    wiki.acl.set_rule("Board/Secret", "group:hr", None, actor="t")  # a rule on one page
    for page in ("HR/Salaries", "Board/Secret", "HR/Public/Holidays"):
        wiki.discussions.start(carol, page, f"Pelican talk {page}", "The pelican budget.")
        wiki.attachments.upload(carol, page, "pelican.txt", b"Pelican budget, confidential.")
    reader = find(wiki, "pelican", user="reader")
    assert sorted((h.kind, h.path) for h in reader.hits) == \
        [("attachment", "HR/Public/Holidays"), ("discussion", "HR/Public/Holidays")]
    assert reader.total == 2
    assert dict(reader.facets["kind"]) == {"attachment": 1, "discussion": 1}
    assert dict(reader.facets["namespace"]) == {"HR": 2}
    assert all("Salaries" not in h.snippet and "Secret" not in h.title for h in reader.hits)
    assert find(wiki, "pelican", user="reader", kind="discussion").total == 1
    assert find(wiki, "pelican", user="reader", prefix="Board").total == 0
    assert find(wiki, "pelicna", user="reader").suggestion == "pelican"  # a readable page has it
    assert wiki.search.suggest(who(wiki, "reader"), "pelican") == []  # titles of pages only
    member = find(wiki, "pelican", user="carol")
    assert member.total == 6 and dict(member.facets["kind"]) == {"attachment": 3, "discussion": 3}
    assert {h.path for h in member.hits} == {"HR/Salaries", "Board/Secret",
                                             "HR/Public/Holidays"}
    wiki.acl.set_rule("HR/Public", "group:hr", None, actor="t")  # now hidden as well
    assert find(wiki, "pelican", user="reader").total == 0
    assert find(wiki, "pelicna", user="reader").suggestion is None


# --- real pages ---------------------------------------------------------------------------

@pytest.mark.skipif(not CORPUS.exists(), reason="the shared corpus is not available")
def test_real_pages_in_english_and_dutch(wiki, tmp_path):
    """tldr-pages (CC BY 4.0, © the tldr-pages team and contributors)."""
    wanted = {"pages/common/tar.md": "en/tar", "pages.nl/common/tar.md": "nl/tar",
              "pages/common/grep.md": "en/grep", "pages.nl/common/grep.md": "nl/grep"}
    writes = []
    with tarfile.open(CORPUS) as archive:
        for member, name in wanted.items():
            text = archive.extractfile(member).read().decode()
            lang = "nl" if name.startswith("nl/") else "en"
            writes.append(Write(f"{name}.md", f"---\nlang: {lang}\n---\n{text}".encode()))
    with wiki.repo.write_lock():
        wiki.repo.commit(writes, "tldr pages", Author("tldr", "t@example.org"),
                         parent=wiki.repo.head())
    wiki.catalog.catch_up()
    assert paths_of(find(wiki, "archief uitpakken")) == ["nl/tar"]
    assert paths_of(find(wiki, "extract archive"))[0] == "en/tar"
    assert paths_of(find(wiki, "tar"))[:2] in (["en/tar", "nl/tar"], ["nl/tar", "en/tar"])
    assert find(wiki, "bestanden", prefix="nl").total >= 1


def test_a_caller_who_may_read_only_an_empty_namespace_finds_nothing(wiki):
    from wiki.users import ANONYMOUS

    wiki.acl.set_rule("Public", "anyone", None, actor="t")  # anonymous may search, Public only
    assert wiki.search.search(ANONYMOUS, "fox").total == 0
    assert wiki.search.suggest(ANONYMOUS, "no") == []
    wiki.pages.save(who(wiki), "Public/Fox", "# Fox\n\nA public fox.\n")
    assert paths_of(wiki.search.search(ANONYMOUS, "fox")) == ["Public/Fox"]


@pytest.mark.parametrize(("text", "question"), [
    ("annual leave", False), ("wachtwoord vergeten", False), ("git delete branch", False),
    ("how do I request a day off", True), ("hoe vraag ik verlof aan", True),
    ("parking garage?", True), ("why does the printer on my floor jam", True),
    ("vacation days carry over next year", True),
    ('how do I "reset password"', False), ("how do I reset OR change", False),
    ("what is title:leave", False), ("how", False), ("how do I", False),
])
def test_questions_are_told_from_keyword_queries(text, question):
    from wiki.search.query import is_question, parse
    stops = frozenset({"do", "i", "a", "the", "on", "my", "is", "ik"})
    assert is_question(text, parse(text), stops) is question


QUALITY_FLOOR = {"en": 0.95, "nl": 0.9}  # today 0.97, 0.92; the old ranking: nl 0.88
INTRANET = Path(__file__).resolve().parents[2] / "bench" / "intranet"


@pytest.fixture(scope="module")
def intranet(tmp_path_factory):
    """The benchmark's 50 intranet pages (HR, IT, facilities in English and Dutch, and two
    long pages full of common words), in one commit."""
    services = build_services(config.load(tmp_path_factory.mktemp("intranet"), environ={}))
    home.initialize(services)
    services.users.create("editor", "correct-horse-battery", role="editor")
    writes = [Write(f"{f.parent.name}/{f.stem}.md",
                    f"---\nlang: {f.parent.name}\n---\n".encode() + f.read_bytes())
              for f in sorted(INTRANET.glob("*/*.md"))]
    with services.repo.write_lock():
        services.repo.commit(writes, "intranet", Author("t", "t@example.org"),
                             parent=services.repo.head())
    services.catalog.catch_up()
    yield services
    services.db.dispose()


def _mrr(services, kind: str, lang: str) -> float:
    ranks = []
    for line in (INTRANET / "queries.tsv").read_text("utf-8").splitlines():
        fields = line.split("\t")
        if line.startswith("#") or len(fields) != 4 or fields[:2] != [lang, kind]:
            continue
        found = paths_of(find(services, fields[3]))
        want = f"{lang}/{fields[2]}"
        ranks.append(1 / (found.index(want) + 1) if want in found else 0.0)
    return sum(ranks) / len(ranks)


@pytest.mark.parametrize("lang", ["en", "nl"])
def test_ranking_quality_on_the_intranet_questions_does_not_regress(intranet, lang):
    # The big numbers are in bench/search_quality.py; here the floor just under today's
    # figures on these 50 pages (the old "most words first" ranking falls below it).
    question, keyword = _mrr(intranet, "question", lang), _mrr(intranet, "keyword", lang)
    assert question >= QUALITY_FLOOR[lang]
    assert keyword >= 0.8  # "vpn", "lunch", "phishing" are on English pages too
