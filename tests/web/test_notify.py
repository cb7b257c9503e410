"""Notification email, delivered to a real SMTP server (aiosmtpd) on 127.0.0.1."""

import email
import socket

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner

from tests.conftest import copy_home
from wiki import config
from wiki.cli import main
from wiki.services import build_services

# (name, role, email) of the users the tests' wikis start with (password as in conftest).
USERS = tuple((name, role, f"{name}@example.org") for name, role in
              (("editor", "editor"), ("bob", "editor"), ("reader", "reader")))


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port())
    controller.start()
    yield controller, mailbox
    controller.stop()


@pytest.fixture
def mailing(tmp_path, smtp, pristine):
    controller, mailbox = smtp
    settings = config.load(tmp_path, environ={}, smtp_host="127.0.0.1",
                           smtp_port=controller.port, smtp_from="wiki@example.org",
                           base_url="https://wiki.example.org")
    copy_home(pristine(USERS), settings)
    services = build_services(settings)
    services.pages.save(services.users.by_name("editor"), "Team/Plan", "The plan.\n")
    yield services, mailbox, tmp_path
    services.db.dispose()


def _body(message) -> str:
    return message.get_payload(decode=True).decode()


def test_a_mention_is_emailed_at_once(mailing):
    services, mailbox, _ = mailing
    editor = services.users.by_name("editor")
    services.discussions.start(editor, "Team/Plan", "Kickoff", "@bob can you join?")
    [(to, message)] = mailbox.messages
    assert to == ["bob@example.org"] and message["From"] == "wiki@example.org"
    assert "editor mentioned you" in message["Subject"]
    assert "https://wiki.example.org/thread/1#c1" in _body(message)


def test_daily_digest_collects_notifications_and_skips_what_became_unreadable(mailing):
    services, mailbox, wiki_home = mailing
    bob, reader = services.users.by_name("bob"), services.users.by_name("reader")
    services.notify.set_email_mode(bob, "daily")
    services.notify.set_email_mode(reader, "never")
    editor = services.users.by_name("editor")
    services.pages.save(editor, "HR/Pay", "Secret.\n")
    thread = services.discussions.start(editor, "Team/Plan", "Kickoff", "@bob @reader hi")
    services.discussions.reply(editor, thread.thread.id, "@bob one more thing")
    services.discussions.start(editor, "HR/Pay", "Raise", "@bob look")
    services.acl.set_rule("HR", "user:editor", None, actor="test")
    assert mailbox.messages == []  # daily and never: nothing yet

    result = CliRunner().invoke(main, ["--home", str(wiki_home), "notify", "send-digests"],
                                env={"WIKI_SMTP_HOST": "127.0.0.1",
                                     "WIKI_SMTP_PORT": str(services.settings.smtp_port)})
    assert result.exit_code == 0, result.output
    [(to, message)] = mailbox.messages
    assert to == ["bob@example.org"] and "2 new notifications" in message["Subject"]
    assert "Kickoff" in _body(message) and "Raise" not in _body(message)
    CliRunner().invoke(main, ["--home", str(wiki_home), "notify", "send-digests"],
                       env={"WIKI_SMTP_HOST": "127.0.0.1",
                            "WIKI_SMTP_PORT": str(services.settings.smtp_port)})
    assert len(mailbox.messages) == 1  # nothing is sent twice


def test_failed_email_is_kept_and_retried(tmp_path, pristine):
    port = _free_port()  # nothing listens here yet
    settings = config.load(tmp_path, environ={}, smtp_host="127.0.0.1", smtp_port=port)
    copy_home(pristine(USERS[:2]), settings)  # editor and bob
    services = build_services(settings)
    editor = services.users.by_name("editor")
    services.pages.save(editor, "Plan", "The plan.\n")
    services.discussions.start(editor, "Plan", "Kickoff", "@bob hello")
    assert services.notify.inbox(services.users.by_name("bob"))  # the inbox has it anyway
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        assert services.notify.send_digests() == 1
    finally:
        controller.stop()
        services.db.dispose()
    assert "Kickoff" in _body(mailbox.messages[0][1])


def test_a_reported_comment_is_emailed_to_the_moderators_who_want_it(mailing):
    services, mailbox, _ = mailing
    editor = services.users.by_name("editor")
    services.notify.set_email_mode(editor, "never")
    opened = services.discussions.start(editor, "Team/Plan", "Kickoff", "Let us start")
    services.moderation.report(services.users.by_name("reader"), opened.comment.id, "Spam")
    [(to, message)] = [m for m in mailbox.messages if "reported" in m[1]["Subject"]]
    assert to == ["bob@example.org"]
    assert "reader reported a comment" in message["Subject"]
    assert "https://wiki.example.org/moderation" in _body(message)
    assert [i.kind for i in services.notify.inbox(editor)] == ["report"]  # inbox, no email
