"""Accounts cannot pass as each other: display names stay apart, commits carry the account."""

import pytest

from wiki import config
from wiki.errors import InvalidInput
from wiki.repo import Author
from wiki.users import account_name_of, authored_by, commit_author


@pytest.fixture
def users(services):
    users = services.users
    users.create("alice", "alice-password", email="alice@example.org",
                 display_name="Alice Jansen")
    users.create("bob", "bob-password", email="bob@example.org")
    return users


@pytest.mark.parametrize("wanted", ["alice", "ALICE", "Alice Jansen", "alice.jansen",
                                    "  alice-jansen ", "ＡＬＩＣＥ", "Alice_Jansen!"])
def test_a_display_name_like_a_colleagues_name_is_refused_and_nothing_saved(users, wanted):
    bob = users.by_name("bob")
    with pytest.raises(InvalidInput, match="too close to another account"):
        users.update_profile(bob.id, language="nl", email="bob2@example.org",
                             display_name=wanted)
    after = users.by_name("bob")
    assert (after.display_name, after.email, after.language) == ("", "bob@example.org", "")


def test_distinct_and_own_names_are_fine(users):
    bob = users.by_name("bob")
    assert users.update_profile(bob.id, display_name="Bob de Vries").display_name == \
        "Bob de Vries"
    assert users.update_profile(bob.id, display_name="BOB").display_name == "BOB"  # his own
    alice = users.by_name("alice")
    assert users.update_profile(alice.id, display_name="Alice J.").display_name == "Alice J."


def test_a_new_account_cannot_take_a_colleagues_display_name(users):
    with pytest.raises(InvalidInput, match="too close"):
        users.create("carol", "carol-password", display_name="alice jansen")
    assert users.by_name("carol") is None


def test_control_and_bidi_characters_are_refused_in_display_names(users):
    bob = users.by_name("bob")
    with pytest.raises(InvalidInput, match="control or formatting"):
        users.update_profile(bob.id, display_name="Bob\u202eecila")


def test_a_sign_on_proxy_cannot_hand_out_a_colleagues_name(users):
    carol, created = users.ensure_proxy_user("carol", display_name="Alice Jansen")
    assert created and carol.display_name == ""
    bob, _ = users.ensure_proxy_user("bob", display_name="Alice")
    assert bob.display_name == ""
    bob, _ = users.ensure_proxy_user("bob", display_name="Bob B")
    assert bob.display_name == "Bob B"


def test_commits_carry_the_account_name_and_the_wikis_address(users):
    alice = users.by_name("alice")
    assert commit_author(alice, "wiki.example.org") == Author("alice",
                                                              "alice@wiki.example.org")
    assert account_name_of("alice@wiki.example.org", "wiki.example.org") == "alice"
    assert account_name_of("alice@kennis.invalid", "wiki.example.org") == "alice"
    assert account_name_of("alice@example.org", "wiki.example.org") is None
    assert authored_by(Author("Anyone", "ALICE@example.org"), alice, "wiki.example.org")
    assert authored_by(Author("Anyone", "alice@wiki.example.org"), alice, "wiki.example.org")
    assert not authored_by(Author("alice", "admin@wiki.example.org"), alice,
                           "wiki.example.org")


def test_the_author_domain_follows_the_setting_then_base_url(tmp_path):
    assert config.load(tmp_path, environ={}).author_host == "kennis.invalid"
    assert config.load(tmp_path, environ={}, base_url="https://Wiki.Example.org:8443/kb"
                       ).author_host == "wiki.example.org"
    assert config.load(tmp_path, environ={}, base_url="https://wiki.example.org",
                       author_domain="corp.example").author_host == "corp.example"
    with pytest.raises(config.SettingsError, match="author_domain"):
        config.load(tmp_path, environ={}, author_domain="evil> x")
