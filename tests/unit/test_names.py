"""Look-alike names (wiki/names.py): Unicode TR39 skeletons compared level by level."""

import pytest

from wiki.names import NameMap, looks_like

EXISTING = ["Info", "HR/Policies", "HR/Plan 1", "Team/Burn", "Café"]


@pytest.mark.parametrize(("new", "like"), [
    ("Іnfo", "info"),  # Cyrillic capital І
    ("іnfo", "info"),  # Cyrillic small і, the same page in lower case
    ("lnfo", "info"),  # a small L for the capital I
    ("НR/Evil", "hr"),  # Cyrillic Н: the namespace is the look-alike
    ("ΗR/Evil", "hr"),  # Greek Eta
    ("HR/Po1icies", "hr/policies"),  # digit one for l (TR39 puts them in one class)
    ("HR/Plan l", "hr/plan 1"),
])
def test_look_alikes_of_pages_and_namespaces_are_found(new, like):
    assert NameMap(EXISTING).lookalike(new) == like


@pytest.mark.parametrize("new", ["Info", "INFO", "HR/Policies/New", "HR/Plan 2", "Team/Turn",
                                 "Cafe", "Caffè", "Infos", "Team/Onboarding", "New"])
def test_distinct_names_and_existing_ones_pass(new):
    assert NameMap(EXISTING).lookalike(new) is None


def test_a_page_being_renamed_is_not_its_own_look_alike():
    names = NameMap(["Plan l", "HR/Policies", "HR"])
    assert names.lookalike("Plan 1") == "plan l"
    assert names.lookalike("Plan 1", ignore="plan l") is None
    # A namespace stays when its page is renamed: its look-alike is still refused.
    assert names.lookalike("НR", ignore="hr") == "hr"


def test_only_prefixes_that_are_new_are_compared():
    old = NameMap(["Info"])
    pushed = NameMap(["Info", "Іnfo/Page", "Other"])
    assert pushed.lookalike("Іnfo/Page", existed=old.exists) == "info"
    assert pushed.lookalike("Other", existed=old.exists) is None


def test_the_existing_spelling_is_named():
    names = NameMap(["HR/Policies", "hr/Plan"])
    assert names.spelling(names.lookalike("HR/Ρolicies")) == "HR/Policies"  # Greek Rho


def test_files_look_alike():
    assert looks_like("Invoice.pdf", "Ιnvoice.pdf")  # Greek Iota
    assert not looks_like("invoice.pdf", "Invoice.pdf")  # the same name
    assert not looks_like("invoice-2.pdf", "invoice.pdf")
