"""Every service of one wiki, built in one place: the web app, the CLI and git's pre-receive
hook all call `build_services()`. Constructors do no work; the first use of a service does."""

from dataclasses import dataclass

from wiki import config
from wiki.acl import Acl
from wiki.activity import Activity
from wiki.admin import Admin
from wiki.attachments import Attachments
from wiki.catalog import Catalog
from wiki.db import Database
from wiki.discussions import Discussions
from wiki.events import Events
from wiki.feeds import FeedTokens
from wiki.freshness import FreshnessService
from wiki.moderation import Moderation
from wiki.notify import Notify
from wiki.page_templates import NewPages
from wiki.pages import Pages
from wiki.permissions import Permissions
from wiki.polls import Polls
from wiki.questions import Questions
from wiki.render import Renderer
from wiki.repo import Repository
from wiki.search import Search
from wiki.tree import Tree
from wiki.updates import Updates
from wiki.users import Users


@dataclass
class Services:
    """Every service of one wiki, kept in app.extensions["kennis"] by the web app."""

    settings: config.Settings
    db: Database
    repo: Repository
    renderer: Renderer
    catalog: Catalog
    users: Users
    acl: Acl
    permissions: Permissions
    pages: Pages
    discussions: Discussions
    moderation: Moderation
    activity: Activity
    notify: Notify
    feeds: FeedTokens
    admin: Admin
    search: Search
    attachments: Attachments
    tree: Tree
    new_pages: NewPages
    freshness: FreshnessService
    questions: Questions
    polls: Polls
    events: Events
    updates: Updates


def build_services(settings: config.Settings, background: bool = False) -> Services:
    """`background`: a long-lived process (the web app) may leave work to threads of its own
    (search indexing after saves); a command or hook does everything before it returns."""
    db = Database(settings.db_url, stamp_dir=settings.instance)
    db.watch("threads", {"threads"})
    db.watch("notifications", {"notifications"})
    repo = Repository(settings.repository, branch=settings.branch,
                      lock_timeout=settings.write_lock_timeout)
    renderer = Renderer(settings.cache, memory_items=settings.render_cache_size)
    catalog = Catalog(db, repo, renderer, lock_dir=settings.instance)
    acl = Acl(db, stamp=settings.instance / "acl.stamp")
    permissions = Permissions(acl, anonymous_read=settings.anonymous_read)
    pages = Pages(repo, catalog, renderer, permissions, settings, audit=acl.record)
    users = Users(db)
    notify = Notify(db, users, permissions, settings)
    discussions = Discussions(db, catalog, renderer, permissions, acl, settings.max_comment_chars,
                              approval_prefixes=settings.thread_approval_prefixes)
    discussions.on_post.append(notify.comment_posted)
    discussions.on_moderation.append(notify.moderation)  # reports, threads awaiting approval
    catalog.listeners += [discussions.follow_renames, notify.page_changes]
    search = Search(settings.index, settings.instance, repo, catalog, renderer, permissions,
                    default_language=settings.default_language, background=background)
    catalog.listeners.append(search.on_catalog_change)
    attachments = Attachments(repo, catalog, renderer, permissions, settings, names=pages.names)
    pages.html_filters.append(attachments.link_files)  # `![](photo.png)` -> the page's file
    search.index_also(discussions, attachments)  # threads and attached files are found too
    db.watch("review_defaults", {"review_defaults"})
    freshness = FreshnessService(db, repo, catalog, users, acl, permissions, notify,
                                 author_host=settings.author_host)
    catalog.listeners.append(freshness.on_catalog_change)  # owners, reviews; closes flags
    pages.text_checks.append(freshness.check_text)  # a bad owner or interval: 400, no commit
    questions = Questions(db, catalog, renderer, permissions, acl, users,
                          settings.max_comment_chars, author_host=settings.author_host)
    # Questions' notifications: the question's id rides in comment_id (no thread).
    questions.on_notify.append(lambda kind, ids, ns, qid, actor, summary: notify._notify(
        ids, kind, ns, None, qid, actor, summary))
    search.index_questions(questions)
    return Services(settings=settings, db=db, repo=repo, renderer=renderer, catalog=catalog,
                    users=users, acl=acl, permissions=permissions, pages=pages,
                    attachments=attachments, freshness=freshness, questions=questions,
                    polls=Polls(db, pages, permissions),
                    new_pages=NewPages(pages, catalog, permissions),
                    admin=Admin(users, acl, permissions),
                    discussions=discussions, notify=notify, search=search,
                    moderation=Moderation(discussions, acl),
                    activity=Activity(db, pages, permissions, acl),
                    feeds=FeedTokens(db, users, audit=acl.record),
                    tree=Tree(db, catalog, permissions),
                    events=Events(db, catalog, renderer, permissions, settings.timezone,
                                  author_host=settings.author_host),
                    updates=Updates(db, renderer, permissions))
