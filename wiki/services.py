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
from wiki.feeds import FeedTokens
from wiki.moderation import Moderation
from wiki.notify import Notify
from wiki.pages import Pages
from wiki.permissions import Permissions
from wiki.render import Renderer
from wiki.repo import Repository
from wiki.search import Search
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
    attachments = Attachments(repo, catalog, renderer, permissions, settings)
    pages.html_filters.append(attachments.link_files)  # `![](photo.png)` -> the page's file
    search.index_also(discussions, attachments)  # threads and attached files are found too
    return Services(settings=settings, db=db, repo=repo, renderer=renderer, catalog=catalog,
                    users=users, acl=acl, permissions=permissions, pages=pages,
                    attachments=attachments,
                    admin=Admin(users, acl, permissions),
                    discussions=discussions, notify=notify, search=search,
                    moderation=Moderation(discussions, acl),
                    activity=Activity(db, pages, permissions, acl),
                    feeds=FeedTokens(db, users, audit=acl.record))
