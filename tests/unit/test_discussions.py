"""Discussion threads, their moderation, the activity stream, watches and the inbox, through
the services (no Flask)."""

import multiprocessing

import pytest

from tests.conftest import copy_home
from wiki import config
from wiki.discussions import CommentTooLarge, DiscussionClosed, mentions
from wiki.errors import InvalidInput, NotFound, PageNotFound, PermissionDenied, Unauthorized
from wiki.services import build_services
from wiki.users import ANONYMOUS

PASSWORD = "correct-horse-battery"


USERS = tuple((name, role, f"{name}@example.org") for name, role in
              (("admin", "admin"), ("editor", "editor"), ("bob", "editor"),
               ("reader", "reader"), ("hrperson", "editor")))


@pytest.fixture
def wiki_users():
    return USERS  # made once, in the pristine wiki every test's wiki is copied from


@pytest.fixture
def wiki(services):
    return services


def who(services, name):
    return services.users.by_name(name)


def page(services, name, text="Text.\n", user="editor"):
    return services.pages.save(who(services, user), name, text)


def start(services, name="Plan", user="editor", title="A question", body="What about it?"):
    return services.discussions.start(who(services, user), name, title, body)


def test_a_thread_has_an_opening_post_replies_and_one_level_of_nesting(wiki):
    page(wiki, "Plan")
    opened = start(wiki, body="Is **this** right? <script>alert(1)</script>")
    first = wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, "Yes.",
                                   reply_to=opened.comment.id)
    deeper = wiki.discussions.reply(who(wiki, "reader"), opened.thread.id, "Agreed.",
                                    reply_to=first.comment.id)
    thread = wiki.discussions.thread(who(wiki, "reader"), opened.thread.id)
    assert [c.author for c in thread.comments] == ["editor", "bob", "reader"]
    assert "<strong>this</strong>" in thread.comments[0].html
    assert "<script>" not in thread.comments[0].html
    assert thread.comments[1].reply_to_author == "editor"
    # a reply to a reply answers the same parent, still saying whom it replies to
    assert deeper.comment.reply_to == opened.comment.id
    assert deeper.comment.reply_to_author == "editor"
    names, threads = wiki.discussions.threads(who(wiki, "reader"), "plan")
    assert names == "Plan" and threads[0].comment_count == 3
    assert wiki.discussions.count("Plan") == 1


@pytest.mark.parametrize("body", ["", "   \n", None, "x" * 20_001])
def test_empty_or_oversized_comments_are_refused_and_nothing_is_written(wiki, body):
    page(wiki, "Plan")
    with pytest.raises((InvalidInput, CommentTooLarge)) as caught:
        start(wiki, body=body)
    assert caught.value.status in (400, 413)
    opened = start(wiki)
    with pytest.raises((InvalidInput, CommentTooLarge)):
        wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, body)
    assert wiki.discussions.thread(who(wiki, "bob"), opened.thread.id).comment_count == 1
    assert wiki.discussions.count("Plan") == 1


def test_missing_or_hidden_pages_take_no_threads_and_show_none(wiki):
    with pytest.raises(PageNotFound):
        start(wiki, name="Nowhere")
    wiki.acl.add_members("hr", ["hrperson"], actor="test")
    page(wiki, "HR/Salaries", user="admin")
    opened = start(wiki, name="HR/Salaries", user="hrperson")
    wiki.acl.set_rule("HR", "group:hr", None, actor="test")
    bob = who(wiki, "bob")
    for attempt in (lambda: start(wiki, name="HR/Salaries", user="bob"),
                    lambda: wiki.discussions.threads(bob, "HR/Salaries"),
                    lambda: wiki.discussions.thread(bob, opened.thread.id),
                    lambda: wiki.discussions.reply(bob, opened.thread.id, "Hi")):
        with pytest.raises(PageNotFound):
            attempt()
    assert wiki.discussions.thread(who(wiki, "hrperson"), opened.thread.id).title
    with pytest.raises(Unauthorized):
        wiki.discussions.start(ANONYMOUS, "Plan", "t", "b")


def test_readers_may_comment_but_not_moderate(wiki):
    page(wiki, "Plan")
    opened = start(wiki, user="reader")
    reader = who(wiki, "reader")
    wiki.discussions.reply(reader, opened.thread.id, "More.")
    assert wiki.discussions.set_status(reader, opened.thread.id, "resolved").status == "resolved"
    with pytest.raises(PermissionDenied):
        wiki.moderation.set_locked(reader, opened.thread.id, True)
    with pytest.raises(PermissionDenied):
        wiki.moderation.hide(reader, opened.comment.id, "spam")


def test_edit_keeps_the_earlier_text_for_moderators(wiki):
    page(wiki, "Plan")
    opened = start(wiki, user="bob", body="First text")
    bob = who(wiki, "bob")
    edited = wiki.discussions.edit(bob, opened.comment.id, "Second text")
    assert edited.edited is not None and edited.body == "Second text"
    with pytest.raises(PermissionDenied):
        wiki.discussions.edit(who(wiki, "editor"), opened.comment.id, "Not mine")
    with pytest.raises(PermissionDenied):
        wiki.moderation.comment_history(who(wiki, "reader"), opened.comment.id)
    view, revisions = wiki.moderation.comment_history(who(wiki, "editor"), opened.comment.id)
    assert view.body == "Second text" and [r.body for r in revisions] == ["First text"]


def test_a_removed_comment_keeps_its_place_and_takes_no_replies(wiki):
    page(wiki, "Plan")
    opened = start(wiki)
    reply = wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, "Oops, secret",
                                   reply_to=opened.comment.id)
    with pytest.raises(PermissionDenied):
        wiki.discussions.delete(who(wiki, "reader"), reply.comment.id)
    wiki.discussions.delete(who(wiki, "bob"), reply.comment.id)
    thread = wiki.discussions.thread(who(wiki, "reader"), opened.thread.id)
    removed = thread.comments[1]
    assert removed.deleted and removed.body == "" and removed.html == ""
    with pytest.raises(DiscussionClosed) as caught:
        wiki.discussions.reply(who(wiki, "reader"), opened.thread.id, "Hm?",
                               reply_to=reply.comment.id)
    assert caught.value.status == 409
    assert "Oops" not in (wiki.discussions.thread_document(opened.thread.id).text)


def test_locked_threads_take_no_replies_and_hidden_comments_are_logged(wiki):
    page(wiki, "Plan")
    opened = start(wiki, user="bob", body="Rude words")
    editor = who(wiki, "editor")
    wiki.moderation.hide(editor, opened.comment.id, "Not kind")
    as_reader = wiki.discussions.thread(who(wiki, "reader"), opened.thread.id).comments[0]
    assert as_reader.hidden and as_reader.body == "" and as_reader.hidden_reason == ""
    as_editor = wiki.discussions.thread(editor, opened.thread.id).comments[0]
    assert as_editor.body == "Rude words" and as_editor.hidden_reason == "Not kind"
    with pytest.raises(InvalidInput):
        wiki.moderation.hide(editor, opened.comment.id, " ")
    wiki.moderation.set_locked(editor, opened.thread.id, True)
    with pytest.raises(DiscussionClosed):
        wiki.discussions.reply(who(wiki, "reader"), opened.thread.id, "But…")
    actions = [e.action for e in wiki.acl.events()]
    assert "comment.hide" in actions and "thread.lock" in actions


def test_threads_follow_a_renamed_page_and_stay_readable_when_it_is_deleted(wiki):
    page(wiki, "Old name")
    opened = start(wiki, name="Old name")
    wiki.pages.rename(who(wiki, "editor"), "Old name", "Team/New name")
    assert wiki.discussions.count("Team/New name") == 1
    assert wiki.discussions.thread(who(wiki, "bob"), opened.thread.id).page_name == \
        "Team/New name"
    wiki.pages.delete(who(wiki, "editor"), "Team/New name")
    name, threads = wiki.discussions.threads(who(wiki, "bob"), "Team/New name")
    assert name == "Team/New name" and not threads[0].page_exists
    with pytest.raises(DiscussionClosed):
        wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, "Still there?")


def test_mentions_notify_only_users_who_may_read_the_page(wiki):
    assert mentions("Hi @bob and @Reader, mail a@b.org, @bob again.") == ["bob", "Reader"]
    wiki.acl.add_members("hr", ["hrperson"], actor="test")
    wiki.acl.set_rule("HR", "group:hr", None, actor="test")
    page(wiki, "HR/Plan", user="hrperson")
    wiki.discussions.start(who(wiki, "hrperson"), "HR/Plan", "Review", "@bob @admin please")
    assert wiki.notify.inbox(who(wiki, "bob")) == []
    assert [i.kind for i in wiki.notify.inbox(who(wiki, "admin"))] == ["mention"]


def test_losing_read_access_hides_threads_and_notifications(wiki):
    page(wiki, "HR/Plan", user="admin")
    wiki.discussions.start(who(wiki, "admin"), "HR/Plan", "Review", "@bob have a look")
    bob = who(wiki, "bob")
    assert wiki.notify.unread_count(bob) == 1
    wiki.acl.set_rule("HR", "user:admin", None, actor="test")
    assert wiki.notify.unread_count(bob) == 0 and wiki.notify.inbox(bob) == []
    with pytest.raises(PageNotFound):
        wiki.discussions.threads(bob, "HR/Plan")
    assert wiki.activity.recent(bob) == [a for a in wiki.activity.recent(bob)
                                              if not a.page_name.startswith("HR")]


def test_editing_watches_a_page_and_watchers_hear_of_edits_and_comments(wiki):
    page(wiki, "Team/Plan", user="bob")  # bob now watches it
    wiki.notify.watch(who(wiki, "reader"), "Team", namespace=True)
    page(wiki, "Team/Plan", "Changed.\n", user="editor")
    page(wiki, "Team/Other", "New.\n", user="editor")
    assert [(i.kind, i.page_name) for i in wiki.notify.inbox(who(wiki, "bob"))] == \
        [("edit", "Team/Plan")]
    assert sorted(i.page_name for i in wiki.notify.inbox(who(wiki, "reader"))) == \
        ["Team/Other", "Team/Plan"]
    start(wiki, name="Team/Plan", user="admin")
    kinds = [i.kind for i in wiki.notify.inbox(who(wiki, "bob"))]
    assert kinds == ["comment", "edit"]
    assert wiki.notify.inbox(who(wiki, "admin")) == []  # not told about one's own comment
    wiki.notify.mark_read(who(wiki, "bob"))
    assert wiki.notify.unread_count(who(wiki, "bob")) == 0
    wiki.notify.unwatch(who(wiki, "bob"), "Team/Plan")
    page(wiki, "Team/Plan", "Again.\n", user="editor")
    assert wiki.notify.unread_count(who(wiki, "bob")) == 0


def test_activity_mixes_edits_and_comments_per_namespace(wiki):
    page(wiki, "Team/Plan")
    page(wiki, "Elsewhere")
    start(wiki, name="Team/Plan", title="Schedule")
    start(wiki, name="Elsewhere", title="Other talk")
    items = wiki.activity.recent(who(wiki, "reader"), prefix="Team")
    assert {(a.kind, a.page_name) for a in items} == {("comment", "Team/Plan"),
                                                      ("create", "Team/Plan")}
    everything = wiki.activity.recent(who(wiki, "reader"))
    assert everything[0].kind == "comment" and everything[0].summary == "Other talk"


def test_activity_under_a_namespace_is_filtered_before_it_is_cut(wiki):
    wiki.acl.set_rule("Team/Board", "user:admin", None, actor="test")
    page(wiki, "Team/Plan")
    page(wiki, "Team/Notes")
    page(wiki, "Teamwork")  # the same letters, another namespace
    for i in range(3):  # the newest changes are hidden from the reader
        page(wiki, "Team/Board/Minutes", f"Secret {i}.\n", user="admin")
    reader = who(wiki, "reader")
    assert [r.name for r in wiki.pages.recent(reader, limit=2, prefix="Team")] == \
        ["Team/Notes", "Team/Plan"]
    assert [(a.kind, a.page_name) for a in wiki.activity.recent(reader, limit=2,
                                                                 prefix="Team")] == \
        [("create", "Team/Notes"), ("create", "Team/Plan")]
    assert [r.name for r in wiki.pages.recent(who(wiki, "admin"), limit=1, prefix="Team")] == \
        ["Team/Board/Minutes"]


def test_search_gets_every_thread_as_a_document(wiki):
    page(wiki, "Plan")
    opened = start(wiki, title="Budget", body="Numbers please")
    heard = []
    wiki.discussions.listeners.append(lambda thread_id, name: heard.append((thread_id, name)))
    wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, "Here they are")
    assert heard == [(opened.thread.id, "Plan")]
    [document] = list(wiki.discussions.all_threads_for_index())
    assert document.title == "Budget" and "Here they are" in document.text


def _post_many(home, thread_id, user, count):
    services = build_services(config.load(home, environ={}))
    account = services.users.by_name(user)
    for i in range(count):
        services.discussions.reply(account, thread_id, f"{user} {i}")
    services.db.dispose()


def test_concurrent_posts_from_several_processes_are_all_kept_once(wiki, settings):
    page(wiki, "Plan")
    opened = start(wiki)
    users, count = ("editor", "bob", "reader", "admin"), 15
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_post_many, args=(settings.home, opened.thread.id, u,
                                                        count)) for u in users]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0] * len(users)
    bodies = [c.body for c in wiki.discussions.thread(who(wiki, "admin"),
                                                      opened.thread.id).comments[1:]]
    assert sorted(bodies) == sorted(f"{u} {i}" for u in users for i in range(count))


# --- counting, mentions, reports, approval, feed tokens, the schema --------------------------

def test_removed_and_hidden_comments_do_not_count(wiki):
    page(wiki, "Plan")
    opened = start(wiki)
    gone = wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, "Oops")
    rude = wiki.discussions.reply(who(wiki, "reader"), opened.thread.id, "Rude")
    kept = wiki.discussions.reply(who(wiki, "bob"), opened.thread.id, "Fine")
    assert kept.thread.comment_count == 4
    wiki.discussions.delete(who(wiki, "bob"), gone.comment.id)
    wiki.moderation.hide(who(wiki, "editor"), rude.comment.id, "Not kind")
    _name, [listed] = wiki.discussions.threads(who(wiki, "reader"), "Plan")
    assert listed.comment_count == 2
    assert wiki.discussions.thread(who(wiki, "reader"), opened.thread.id).comment_count == 2


def test_mentions_are_marked_but_not_inside_code_or_links(wiki):
    page(wiki, "Plan")
    opened = start(wiki, body="Ask @bob. Not `@code` or a@b.org or [@link](/x)")
    html = opened.comment.html
    assert '<span class="mention">@bob</span>.' in html
    assert "<code>@code</code>" in html and "a@b.org" in html
    assert '<span class="mention">@link' not in html and '<span class="mention">@code' not in html


def test_a_report_reaches_the_moderators_once_and_closes_when_the_comment_is_hidden(wiki):
    wiki.acl.set_rule("Board", "users", "user:editor", actor="test")  # bob reads, cannot write
    page(wiki, "Board/Minutes", user="admin")
    opened = start(wiki, name="Board/Minutes", user="bob", body="Something rude")
    reader = who(wiki, "reader")
    with pytest.raises(InvalidInput):
        wiki.moderation.report(reader, opened.comment.id, "  ")
    with pytest.raises(InvalidInput):
        wiki.moderation.report(who(wiki, "bob"), opened.comment.id, "my own")
    with pytest.raises(Unauthorized):
        wiki.moderation.report(ANONYMOUS, opened.comment.id, "spam")
    wiki.moderation.report(reader, opened.comment.id, "Insulting")
    wiki.moderation.report(reader, opened.comment.id, "Insulting, really")  # the same report
    for moderator in ("editor", "admin"):
        assert [(i.kind, i.actor) for i in wiki.notify.inbox(who(wiki, moderator))
                if i.kind == "report"] == [("report", "reader")]
    assert wiki.notify.inbox(who(wiki, "hrperson")) == []  # may not write Board
    [report] = wiki.moderation.reports(who(wiki, "editor"))
    assert report.reason == "Insulting, really" and report.comment.body == "Something rude"
    assert wiki.moderation.reports(who(wiki, "bob")) == []
    with pytest.raises(PermissionDenied):
        wiki.moderation.dismiss_report(who(wiki, "bob"), report.id)
    wiki.moderation.hide(who(wiki, "editor"), opened.comment.id, "Insulting")
    assert wiki.moderation.reports(who(wiki, "admin")) == []
    with pytest.raises(DiscussionClosed):
        wiki.moderation.report(who(wiki, "hrperson"), opened.comment.id, "again")
    actions = [e.action for e in wiki.acl.events()]
    assert "comment.report" in actions and "comment.hide" in actions


def test_a_dismissed_report_leaves_the_queue_and_is_logged(wiki):
    page(wiki, "Plan")
    opened = start(wiki, user="bob")
    wiki.moderation.report(who(wiki, "reader"), opened.comment.id, "Off topic")
    [report] = wiki.moderation.reports(who(wiki, "editor"))
    wiki.moderation.dismiss_report(who(wiki, "editor"), report.id)
    assert wiki.moderation.reports(who(wiki, "editor")) == []
    assert wiki.acl.events()[0].action == "report.dismiss"
    with pytest.raises(PageNotFound):  # a report is about a page one may read
        wiki.acl.set_rule("Plan", "user:editor", None, actor="test")
        wiki.moderation.report(who(wiki, "reader"), opened.comment.id, "again")


@pytest.fixture
def approving(tmp_path, pristine):
    settings = config.load(tmp_path, environ={}, thread_approval_prefixes="Board, Other/Page")
    copy_home(pristine(USERS[:4]), settings)  # admin, editor, bob, reader
    services = build_services(settings)
    services.acl.set_rule("Board", "users", "user:editor", actor="test")
    yield services
    services.db.dispose()


def test_new_threads_in_approval_namespaces_wait_for_a_moderator(approving):
    wiki = approving
    page(wiki, "Board/Minutes", user="admin")
    heard = []
    wiki.discussions.listeners.append(lambda thread_id, name: heard.append(thread_id))
    opened = start(wiki, name="Board/Minutes", user="reader", body="Hi @bob, see this")
    assert opened.thread.pending
    bob = who(wiki, "bob")
    assert wiki.discussions.threads(bob, "Board/Minutes")[1] == []
    with pytest.raises(NotFound):
        wiki.discussions.thread(bob, opened.thread.id)
    assert wiki.discussions.count("Board/Minutes") == 0
    assert wiki.notify.inbox(bob) == []  # not even the mention
    assert [i.kind for i in wiki.notify.inbox(who(wiki, "editor"))] == ["pending"]
    assert wiki.discussions.thread_document(opened.thread.id) is None
    assert list(wiki.discussions.all_threads_for_index()) == []
    assert not [a for a in wiki.activity.recent(who(wiki, "admin")) if a.kind == "comment"]
    # its author and the moderators see it
    assert wiki.discussions.thread(who(wiki, "reader"), opened.thread.id).pending
    assert [t.title for t in wiki.moderation.pending(who(wiki, "editor"))] == ["A question"]
    assert wiki.moderation.pending(bob) == []
    with pytest.raises(PermissionDenied):
        wiki.moderation.approve(who(wiki, "reader"), opened.thread.id)

    wiki.moderation.approve(who(wiki, "editor"), opened.thread.id)
    assert not wiki.discussions.thread(bob, opened.thread.id).pending
    assert wiki.discussions.count("Board/Minutes") == 1
    assert [(i.kind, i.actor) for i in wiki.notify.inbox(bob)] == [("mention", "reader")]
    assert wiki.discussions.thread_document(opened.thread.id).title == "A question"
    assert heard[-1] == opened.thread.id
    assert wiki.acl.events()[0].action == "thread.approve"


def test_moderators_skip_approval_and_a_rejected_thread_is_gone(approving):
    wiki = approving
    page(wiki, "Board/Minutes", user="admin")
    page(wiki, "Other/Page", user="admin")
    page(wiki, "Other/Free", user="admin")
    assert not start(wiki, name="Board/Minutes", user="editor").thread.pending
    assert start(wiki, name="Other/Page", user="bob").thread.pending is False  # bob writes it
    assert not start(wiki, name="Other/Free", user="reader").thread.pending
    held = start(wiki, name="Other/Page", user="reader", title="Spam")
    assert held.thread.pending
    wiki.discussions.reply(who(wiki, "reader"), held.thread.id, "@bob more")
    assert [i.kind for i in wiki.notify.inbox(who(wiki, "bob"))] == ["pending"]
    assert wiki.moderation.reject(who(wiki, "admin"), held.thread.id) == "Other/Page"
    with pytest.raises(NotFound):
        wiki.discussions.thread(who(wiki, "admin"), held.thread.id)
    assert wiki.notify.inbox(who(wiki, "bob")) == []
    assert "Spam" in wiki.acl.events()[0].detail


def test_a_feed_token_names_its_user_until_reset_and_is_no_api_token(wiki):
    reader = who(wiki, "reader")
    assert wiki.feeds.created(reader) is None
    first = wiki.feeds.reset(reader)
    assert wiki.feeds.account(first).name == "reader" and wiki.feeds.created(reader)
    assert wiki.users.by_token(first) is None
    second = wiki.feeds.reset(reader)
    with pytest.raises(NotFound):
        wiki.feeds.account(first)
    with pytest.raises(NotFound):
        wiki.feeds.account(wiki.users.create_token("reader", "api"))
    assert wiki.feeds.account(second).name == "reader"
    wiki.feeds.remove(reader)
    with pytest.raises(NotFound):
        wiki.feeds.account(second)
    assert {"feedtoken.reset", "feedtoken.remove"} <= {e.action for e in wiki.acl.events()}


def test_the_migrations_build_the_schema_the_models_describe(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import wiki.services  # noqa: F401 - every module's models (questions, polls) registered
    from wiki.db import Base, Database

    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    db.upgrade()
    with db.engine.connect() as connection:
        assert compare_metadata(MigrationContext.configure(connection), Base.metadata) == []
    db.dispose()
