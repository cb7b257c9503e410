"""The `wiki` command line (also `python -m wiki`)."""

import os
import sys
from collections.abc import Iterable, Mapping

import click

from wiki import __version__, config
from wiki.errors import WikiError


def _services(home, create: bool = False):
    """The services of the wiki in `home`. Only the commands that make a wiki (`init`,
    `serve`, `import`) create one; the others refuse a folder that holds none, instead of
    leaving an empty wiki behind in whatever folder they ran."""
    from wiki import home as wiki_home
    from wiki.services import build_services

    settings = config.load(home)
    if create:
        wiki_home.ensure(settings)
    elif not wiki_home.exists(settings):
        raise click.ClickException(
            f"no wiki here (WIKI_HOME={settings.home}); run the command in the wiki's folder, "
            "set WIKI_HOME or --home, or create one with `wiki init`.")
    return build_services(settings)


def _read_password(from_stdin: bool, prompt: bool = True) -> str | None:
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.UsageError("no password on standard input")
        return line
    if prompt:
        return click.prompt("Password", hide_input=True, confirmation_prompt=True)
    return None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", message="Kennis %(version)s")
@click.option("--home", envvar="WIKI_HOME", type=click.Path(file_okay=False),
              help="The wiki's home folder (default: WIKI_HOME or the current folder).")
@click.pass_context
def main(ctx, home):
    """Kennis: a self-hosted wiki and knowledge base on git."""
    ctx.obj = home


def _fail_on_wiki_errors(func):
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except (WikiError, config.SettingsError) as exc:
            raise click.ClickException(getattr(exc, "message", str(exc))) from exc

    return wrapper


@main.command()
@click.option("--admin", metavar="NAME", help="Create this admin user if missing.")
@click.option("--password-stdin", is_flag=True, help="Read the admin's password from stdin.")
@click.pass_obj
@_fail_on_wiki_errors
def init(home, admin, password_stdin):
    """Create what is missing: repository with starter pages, database, first admin."""
    from wiki import home as wiki_home

    services = _services(home, create=True)
    services.db.upgrade()
    password = None
    if admin and services.users.by_name(admin) is None:
        password = _read_password(password_stdin)
    done = wiki_home.initialize(services, admin=admin, password=password)
    click.echo("; ".join(done).capitalize() + "." if done else "Everything is already there.")
    _announce_setup(services, None)


def _announce_setup(services, base_url: str | None) -> None:
    """With no users yet, print a one-time link that lets the first admin sign up."""
    if services.users.count():
        return
    token = services.users.create_setup_token()
    base = (services.settings.base_url or base_url or "http://127.0.0.1:8080").rstrip("/")
    click.echo("")
    click.echo("No accounts yet. Open this one-time link to create the first admin:")
    click.echo(f"    {base}/setup/{token}")
    click.echo("")


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.pass_obj
@_fail_on_wiki_errors
def serve(home, host, port, workers):
    """Run the production server (gunicorn, several worker processes)."""
    from wiki import home as wiki_home
    from wiki.server import run

    services = _services(home, create=True)
    wiki_home.initialize(services)
    _announce_setup(services, f"http://{host}:{port}")
    services.db.dispose()
    run(config.load(home), host=host, port=port, workers=workers)


@main.group()
def user():
    """Manage user accounts."""


@user.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "editor", "admin"]), default="editor",
              show_default=True)
@click.option("--email", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_obj
@_fail_on_wiki_errors
def user_add(home, name, role, email, password_stdin):
    """Add a user."""
    services = _services(home)
    services.db.upgrade()
    account = services.users.create(name, _read_password(password_stdin), role=role, email=email,
                                    actor="cli")
    click.echo(f"Added {account.name} ({account.role}).")


@user.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from stdin.")
@click.pass_obj
@_fail_on_wiki_errors
def user_passwd(home, name, password_stdin):
    """Set a user's password (ends their sessions)."""
    services = _services(home)
    services.db.upgrade()
    services.users.set_password(name, _read_password(password_stdin), actor="cli")
    click.echo(f"Changed the password of {name}.")


@main.group()
def group():
    """Manage groups of users."""


@group.command("add")
@click.argument("group_name", metavar="GROUP")
@click.argument("users", nargs=-1, required=True)
@click.pass_obj
@_fail_on_wiki_errors
def group_add(home, group_name, users):
    """Add USERS to GROUP (created if it does not exist)."""
    services = _services(home)
    services.db.upgrade()
    services.acl.add_members(group_name, list(users), actor="cli")
    members = services.acl.groups()[_group_name(services, group_name)]
    click.echo(f"{group_name}: {', '.join(members)}")


@group.command("rm")
@click.argument("group_name", metavar="GROUP")
@click.argument("user_name", metavar="USER")
@click.pass_obj
@_fail_on_wiki_errors
def group_rm(home, group_name, user_name):
    """Remove USER from GROUP."""
    services = _services(home)
    services.db.upgrade()
    services.acl.remove_member(group_name, user_name, actor="cli")
    click.echo(f"Removed {user_name} from {group_name}.")


@group.command("list")
@click.pass_obj
@_fail_on_wiki_errors
def group_list(home):
    """List groups and their members."""
    services = _services(home)
    services.db.upgrade()
    for name, members in services.acl.groups().items():
        click.echo(f"{name}: {', '.join(members)}")


def _group_name(services, name: str) -> str:
    return next(g for g in services.acl.groups() if g.lower() == name.lower())


@main.group()
def acl():
    """Permission rules on namespaces and pages."""


@acl.command("set")
@click.argument("prefix")
@click.option("--read", "read", metavar="WHO,…", default="",
              help="Who may read: user:NAME, group:NAME, users or anyone (comma separated).")
@click.option("--write", "write", metavar="WHO,…", default=None,
              help="Who may write (default: the readers; editors and admins only).")
@click.pass_obj
@_fail_on_wiki_errors
def acl_set(home, prefix, read, write):
    """Set the rule on PREFIX (a namespace such as HR, or one page)."""
    services = _services(home)
    services.db.upgrade()
    rule = services.acl.set_rule(prefix, read, write, actor="cli")
    click.echo(_rule_line(rule))


@acl.command("list")
@click.pass_obj
@_fail_on_wiki_errors
def acl_list(home):
    """List the rules (the most specific prefix wins)."""
    services = _services(home)
    services.db.upgrade()
    rules = services.acl.rules()
    if not rules:
        click.echo("No rules: logged-in users read everything, editors write.")
    for rule in rules:
        click.echo(_rule_line(rule))


def _rule_line(rule) -> str:
    return (f"{rule.prefix}: read={','.join(sorted(rule.read)) or '-'} "
            f"write={','.join(sorted(rule.write)) or '-'}")


@acl.command("rm")
@click.argument("prefix")
@click.pass_obj
@_fail_on_wiki_errors
def acl_rm(home, prefix):
    """Remove the rule on PREFIX."""
    services = _services(home)
    services.db.upgrade()
    services.acl.remove_rule(prefix, actor="cli")
    click.echo(f"Removed the rule on {prefix}.")


@main.group()
def token():
    """Manage API tokens."""


@token.command("create")
@click.argument("name")
@click.option("--label", default="command line", show_default=True, help="The token's name.")
@click.pass_obj
@_fail_on_wiki_errors
def token_create(home, name, label):
    """Create an API token for user NAME and print it once, alone on the last line."""
    services = _services(home)
    services.db.upgrade()
    value = services.users.create_token(name, label, actor="cli")
    click.echo(f"New token for {name} (shown only now; store it safely):")
    click.echo(value)


@main.group()
def notify():
    """Notification email."""


@notify.command("send-digests")
@click.pass_obj
@_fail_on_wiki_errors
def notify_send_digests(home):
    """Email daily digests (and retry failed immediate email); run it daily from cron."""
    services = _services(home)
    services.db.upgrade()
    if not services.settings.smtp_host:
        raise click.ClickException("No SMTP server is set (smtp_host); nothing was sent.")
    click.echo(f"Sent {services.notify.send_digests()} email(s).")


@main.group()
def review():
    """Page owners and review intervals per namespace; review reminders."""


@review.command("set")
@click.argument("prefix")
@click.option("--owner", default="", metavar="user:NAME|group:NAME", help="Owner of the pages.")
@click.option("--every", default="", metavar="INTERVAL", help="Review interval, e.g. `6 months`.")
@click.pass_obj
@_fail_on_wiki_errors
def review_set(home, prefix, owner, every):
    """Set the default owner and interval of pages under PREFIX (`/` for the whole wiki)."""
    services = _services(home)
    services.db.upgrade()
    click.echo(_default_line(services.freshness.store_default(prefix, owner, every)))


@review.command("list")
@click.pass_obj
@_fail_on_wiki_errors
def review_list(home):
    """List the namespace defaults (the most specific prefix wins)."""
    services = _services(home)
    services.db.upgrade()
    defaults = services.freshness.defaults()
    if not defaults:
        click.echo("No defaults: only pages that name an owner in their front matter have one.")
    for default in defaults:
        click.echo(_default_line(default))


def _default_line(default) -> str:
    return (f"{default.prefix or '/'}: owner={default.owner or '-'} "
            f"every={default.review_every or '-'}")


@review.command("rm")
@click.argument("prefix")
@click.pass_obj
@_fail_on_wiki_errors
def review_rm(home, prefix):
    """Remove the default on PREFIX."""
    services = _services(home)
    services.db.upgrade()
    services.freshness.drop_default(prefix)
    click.echo(f"Removed the default on {prefix}.")


@review.command("remind")
@click.pass_obj
@_fail_on_wiki_errors
def review_remind(home):
    """Tell owners which pages became due or overdue, one inbox item each; run weekly."""
    services = _services(home)
    services.db.upgrade()
    click.echo(f"Reminded {services.freshness.remind()} owner(s).")


@main.command()
@click.pass_obj
@_fail_on_wiki_errors
def reindex(home):
    """Rebuild all derived data (catalog, history lists, backlinks, search index) from git."""
    services = _services(home)
    services.db.upgrade()
    count = services.catalog.rebuild()
    click.echo(f"Reindexed {count} commits.")
    pages = services.search.rebuild()  # into a fresh folder, swapped in atomically
    click.echo(f"Rebuilt the search index: {pages} pages.")


@main.command()
@click.pass_obj
@_fail_on_wiki_errors
def check(home):
    """Check the repository (git fsck), the derived data and the database."""
    services = _services(home)
    problems = []
    if not services.repo.exists():
        raise click.ClickException("There is no repository yet; run `wiki init`.")
    ok, output = services.repo.fsck()
    if not ok:
        problems.append("git fsck found problems:\n" + output)
    from wiki import pushpolicy

    problems += pushpolicy.check_repository(services.repo)
    try:
        services.db.upgrade()
        problems += services.catalog.check()
        problems += services.search.check()
    except Exception as exc:  # a broken database is a finding, not a crash
        problems.append(f"The database cannot be read: {exc}")
    if problems:
        for problem in problems:
            click.echo(f"- {problem}")
        raise click.ClickException(f"{len(problems)} problem(s) found.")
    click.echo("All good: repository, derived data and database are consistent.")


@main.command()
@click.argument("target", type=click.Path(dir_okay=False))
@click.option("--force", is_flag=True, help="Overwrite TARGET if it exists.")
@click.pass_obj
@_fail_on_wiki_errors
def backup(home, target, force):
    """Write one archive of the wiki (repository, database, secret key, wiki.toml) while it
    keeps serving."""
    from wiki import backup as backups
    from wiki import home as wiki_home

    settings = config.load(home)
    if not wiki_home.exists(settings):
        raise click.ClickException(f"no wiki here (WIKI_HOME={settings.home}).")
    manifest = backups.create(settings, target, force=force)
    click.echo(f"Backed up Kennis {manifest.version} at {manifest.head} to {target}.")


@main.command()
@click.argument("archive", type=click.Path(exists=True, dir_okay=False))
@click.pass_obj
@_fail_on_wiki_errors
def restore(home, archive):
    """Restore an archive of `wiki backup` into an empty home, then migrate and rebuild the
    derived data."""
    from wiki import backup as backups
    from wiki import home as wiki_home

    manifest = backups.restore(config.load(home), archive)
    services = _services(home)
    wiki_home.initialize(services)  # migrations, push hook, repository settings, catch-up
    services.catalog.rebuild()
    services.search.rebuild()
    click.echo(f"Restored the backup of {manifest.created} (Kennis {manifest.version}); "
               "`wiki check` verifies it.")


@main.command("import")
@click.argument("source", metavar="PATH_OR_GIT_URL")
@click.pass_obj
@_fail_on_wiki_errors
def import_(home, source):
    """Import a Markdown git repository with its history into this new, empty wiki."""
    from wiki import home as wiki_home
    from wiki.importer import import_repository

    services = _services(home, create=True)
    wiki_home.initialize(services)
    report = import_repository(services, source)
    for path, reason in sorted(report.left_out.items()):
        click.echo(f"Left out {path}: {reason}")
    click.echo(f"Imported {report.commits} commits; {report.files} files in the newest one"
               + (f"; left out {len(report.left_out)} files." if report.left_out else "."))


@main.group(hidden=True)
def hook():
    """Git hooks the wiki installs into its repository (run by git, not by people)."""


@hook.command("pre-receive")
def hook_pre_receive():
    """Check a push against the wiki's push policy (reads git's ref updates on stdin)."""
    sys.exit(run_pre_receive(sys.stdin))


def run_pre_receive(stdin: Iterable[str], environ: Mapping[str, str] | None = None) -> int:
    """The hook itself: 0 accepts the push, 1 refuses it (with the reasons on stderr)."""
    from wiki import pushpolicy
    from wiki.services import build_services

    environ = os.environ if environ is None else environ
    updates = pushpolicy.parse_updates(stdin)
    if environ.get(pushpolicy.ENV_FLAG) != "1" or not environ.get("REMOTE_USER"):
        sys.stderr.write(pushpolicy.report([
            "Push through the wiki's address (https://HOST/wiki.git), "
            "where the wiki checks who you are."]))
        return 1
    settings = config.load(environ=environ)
    services = build_services(settings)
    repo = services.repo
    advice = None
    try:
        account = services.users.by_name(environ["REMOTE_USER"])
        if pushpolicy.is_incoming(environ.get("GIT_NAMESPACE")):
            problems, advice = _check_incoming(services, account, settings, updates)
        else:  # a push straight to the branch (not how wiki/gitserve.py runs git)
            problems = pushpolicy.check_push(repo, services.permissions, account, settings,
                                             updates)
            if not problems:
                with repo.write_lock():
                    if any(u.old != (repo.head() or "0" * len(u.old)) for u in updates):
                        problems.append("The wiki changed while you pushed (someone saved a "
                                        "page). Pull and push again.")
    finally:
        services.db.dispose()
    if problems:
        sys.stderr.write(pushpolicy.report(problems, advice))
        return 1
    return 0


def _check_incoming(services, account, settings, updates) -> tuple[list[str], str | None]:
    """A push through the wiki's address (it lands in a namespace of its own and is merged
    afterwards, see wiki/gitserve.py): checked against its own base, then merged on trial
    with the branch as it is now, so a conflict is refused before anything is kept."""
    from wiki import pushpolicy

    repo = services.repo
    head = repo.head()
    updates, problems = pushpolicy.against_head(repo, updates, head)
    problems += pushpolicy.check_push(repo, services.permissions, account, settings, updates)
    if problems or head is None:
        return problems, None
    for update in updates:
        if repo.is_ancestor(head, update.new) or repo.is_ancestor(update.new, head):
            continue  # a fast-forward, or nothing new: no merge to try
        merged = pushpolicy.check_merge(repo, services.permissions, account, settings, head,
                                        update.new)
        problems += merged.lines
        if merged.conflicts:
            return problems, pushpolicy.CONFLICT_ADVICE
    return problems, None
