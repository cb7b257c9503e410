"""A push that is behind is merged, not refused (issue 12 item 8): the hook's checks against
the push's own base, landing the push on the branch (wiki/gitserve.py) and git's report."""

import io

import pytest

from tests.unit.test_pushpolicy import make_commit
from wiki import gitserve, pushpolicy
from wiki.cli import run_pre_receive

FILE = "100644"


@pytest.fixture
def ed(services):
    services.users.create("ed", "password-123", role="editor", email="ed@example.org")
    services.acl.set_rule("HR", "user:ed", "user:admin", actor="test")  # ed reads, not writes
    return services.users.by_name("ed")


def web_save(repo, files, delete=()):
    """A commit on the branch, as a web save makes one."""
    head = repo.head()
    commit = make_commit(repo, head, files, delete=delete, message="web save")
    repo.set_branch(commit, head, "web save")
    return commit


def incoming(repo, commit):
    """What receive-pack leaves once the hook accepted a push: its branch in its namespace."""
    ref = pushpolicy.incoming_ref(repo, pushpolicy.incoming_namespace())
    repo._git("update-ref", ref, commit)
    return ref


def land(services, account, commit):
    repo = services.repo
    ref = incoming(repo, commit)
    landing = gitserve.land_push(repo, services.permissions, account, services.settings, ref)
    assert repo.ref_value(ref) is None  # the push's own ref never stays
    return landing


def parents(repo, commit):
    return repo._git("rev-list", "--parents", "-n1", commit).stdout.decode().split()[1:]


def test_a_push_on_the_head_is_a_fast_forward(services, ed):
    repo = services.repo
    pushed = make_commit(repo, repo.head(), {b"Mine.md": (FILE, b"mine\n")})
    landing = land(services, ed, pushed)
    assert landing.accepted and landing.message == []
    assert repo.head() == pushed


def test_a_push_behind_web_edits_becomes_a_merge_by_the_pusher(services, ed):
    repo = services.repo
    base = repo.head()
    pushed = make_commit(repo, base, {b"Mine.md": (FILE, b"mine\n")})
    web = web_save(repo, {b"Web.md": (FILE, b"web\n")})
    landing = land(services, ed, pushed)
    assert landing.accepted and "merged your push with 1 change" in landing.message[0]
    merge = repo.head()
    assert parents(repo, merge) == [web, pushed]
    assert repo.read(merge, "Mine.md")[1] == b"mine\n"
    assert repo.read(merge, "Web.md")[1] == b"web\n"
    author, message = repo._git("log", "-1", "--format=%an <%ae>%n%B", merge
                                ).stdout.decode().split("\n", 1)
    # the merge is the pusher's, named as every commit of the wiki names an account (issue 12)
    assert author == f"ed <ed@{services.settings.author_host}>"
    assert message.startswith("Merge ed's push with web edits")


def test_a_push_already_in_the_wiki_changes_nothing(services, ed):
    repo = services.repo
    old = repo.head()
    web_save(repo, {b"Web.md": (FILE, b"web\n")})
    head = repo.head()
    landing = land(services, ed, old)
    assert landing.accepted and "already has these commits" in landing.message[0]
    assert repo.head() == head


def test_a_conflict_found_while_landing_is_refused_naming_the_page(services, ed):
    """A web save that lands between the hook's trial merge and the landing itself."""
    repo = services.repo
    base = web_save(repo, {b"Team/Plan.md": (FILE, b"a\nb\nc\n")})
    pushed = make_commit(repo, base, {b"Team/Plan.md": (FILE, b"a\nb from git\nc\n"),
                                      b"Other.md": (FILE, b"other\n")})
    web = web_save(repo, {b"Team/Plan.md": (FILE, b"a\nb from the web\nc\n")})
    landing = land(services, ed, pushed)
    assert not landing.accepted
    assert "Team/Plan" in landing.reason and "\n" not in landing.reason
    assert any("Team/Plan: changed both" in line for line in landing.message)
    assert repo.head() == web


def test_a_merge_may_not_carry_an_edit_into_a_page_the_web_moved_out_of_reach(services, ed):
    """Rename detection would put ed's edit into HR/Plan.md, which ed may not write."""
    repo = services.repo
    text = b"".join(b"line %d of a long enough page\n" % n for n in range(20))
    base = web_save(repo, {b"Plan.md": (FILE, text)})
    pushed = make_commit(repo, base, {b"Plan.md": (FILE, text + b"ed's line\n")})
    web = web_save(repo, {b"HR/Plan.md": (FILE, text)}, delete=[b"Plan.md"])
    landing = land(services, ed, pushed)
    assert not landing.accepted
    assert "HR/Plan.md: ed may not change this path" in landing.reason
    assert repo.head() == web


# --- the hook, for a push that arrives in its own namespace ---------------------------------------

def hook(services, account_name, commit, capsys):
    environ = {**gitserve.settings_env(services.settings), pushpolicy.ENV_FLAG: "1",
               "REMOTE_USER": account_name,
               "GIT_NAMESPACE": pushpolicy.incoming_namespace()}
    zero = "0" * len(commit)
    status = run_pre_receive([f"{zero} {commit} {services.repo.ref}\n"], environ=environ)
    return status, capsys.readouterr().err


def test_the_hook_accepts_a_clean_push_that_is_behind(services, ed, capsys):
    repo = services.repo
    pushed = make_commit(repo, repo.head(), {b"Mine.md": (FILE, b"mine\n")})
    web_save(repo, {b"HR/Web.md": (FILE, b"an HR page ed may not write\n")})
    assert hook(services, "ed", pushed, capsys) == (0, "")


def test_the_hook_refuses_a_conflict_before_anything_is_kept(services, ed, capsys):
    repo = services.repo
    base = web_save(repo, {b"Team/Plan.md": (FILE, b"a\nb\nc\n")})
    pushed = make_commit(repo, base, {b"Team/Plan.md": (FILE, b"a\nb from git\nc\n")})
    web_save(repo, {b"Team/Plan.md": (FILE, b"a\nb from the web\nc\n")})
    status, err = hook(services, "ed", pushed, capsys)
    assert status == 1
    assert "Team/Plan: changed both by this push and on the wiki" in err
    assert "Run `git pull`, resolve the conflicts" in err


def test_the_hook_checks_a_push_that_is_behind_against_its_own_base(services, ed, capsys):
    repo = services.repo
    pushed = make_commit(repo, repo.head(), {b"HR/Mine.md": (FILE, b"not ed's to write\n")})
    web_save(repo, {b"Web.md": (FILE, b"web\n")})
    status, err = hook(services, "ed", pushed, capsys)
    assert status == 1 and "HR/Mine.md: ed may not change this path" in err
    # and only the push's own changes count: the web edit of Web.md is nobody's concern here
    assert "Web.md" not in err


def test_the_hook_refuses_unrelated_history(services, ed, capsys):
    stranger = make_commit(services.repo, None, {b"Mine.md": (FILE, b"mine\n")})
    status, err = hook(services, "ed", stranger, capsys)
    assert status == 1 and "share no history with the wiki" in err


# --- git's report, as the client reads it ------------------------------------------------

def pkt(payload: bytes) -> bytes:
    return b"%04x" % (len(payload) + 4) + payload


REPORT_V2 = pkt(b"unpack ok\n") + pkt(b"ok refs/heads/main\n") + \
    pkt(b"option old-oid " + b"0" * 40 + b"\n") + b"0000"


class FakeProcess:
    def __init__(self, out: bytes):
        self.stdout = io.BytesIO(out)

    def wait(self):
        return 0


def test_a_refused_landing_turns_ok_into_ng_with_the_reason():
    refused = gitserve.Landing(False, ["Kennis refused this push"], "conflicts in A, B")
    lines = gitserve._report_lines(REPORT_V2, "refs/heads/main", refused)
    assert lines == [b"unpack ok\n", b"ng refs/heads/main conflicts in A, B\n", None]
    accepted = gitserve.Landing(True, [])
    assert gitserve._report_lines(REPORT_V2, "refs/heads/main", accepted)[1] == \
        b"ok refs/heads/main\n"


def test_the_push_answer_keeps_messages_and_reports_after_landing():
    answer = pkt(b"\2remote says hi\n") + pkt(b"\1" + REPORT_V2) + pkt(b"\1") + b"0000"
    order = []

    def finish():
        order.append("landed")
        return gitserve.Landing(False, ["merge refused"], "conflicts in A")

    out = b""
    for chunk in gitserve._push_result(FakeProcess(answer), "refs/heads/main", finish):
        order.append("sent")
        out += chunk
    assert order.index("landed") < len(order) - 1  # the report waits for the landing
    assert out.startswith(pkt(b"\2remote says hi\n"))
    assert pkt(b"\2merge refused\n") in out
    assert b"ng refs/heads/main conflicts in A\n" in out and b"ok refs/heads/main" not in out
    assert out.endswith(b"0000")


def test_the_advertisement_offers_recent_commits_as_have_lines(services):
    repo = services.repo
    for number in range(3):
        web_save(repo, {b"Web.md": (FILE, b"save %d\n" % number)})
    head = repo.head()
    advertised = pkt(b"# service=git-receive-pack\n") + b"0000" + \
        pkt(head.encode() + b" .have\0report-status side-band-64k\n") + b"0000"
    out = b"".join(gitserve._advertisement(FakeProcess(advertised), repo))
    haves = [line for line in out.split(b"\n") if b" .have" in line]
    history = repo._git("rev-list", head).stdout.decode().split()
    assert len(haves) == len(history)  # a short history is offered whole, each commit once
    assert out.startswith(advertised[:-4]) and out.endswith(b"0000")
