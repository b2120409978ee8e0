"""The pieces every printed CLI command is made of: the command line quotes any argument so a
shell gives it back unchanged, the connection options never include a secret, and every run
outcome has words for people."""

from __future__ import annotations

import argparse
import shlex

from hypothesis import given
from hypothesis import strategies as st

from halo_paylink.cli.backfill import OUTCOME_WORDS, outcome_words
from halo_paylink.cli.common import command_line, connection_flags
from halo_paylink.core.backfill.outcome import RunOutcome
from halo_paylink.storage.paths import program_command

#: Text a shell argument can hold (no NUL, which no argument can carry).
ARGUMENT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"))


@given(st.lists(ARGUMENT, max_size=6))
def test_a_printed_command_splits_back_into_its_arguments(arguments: list[str]) -> None:
    assert shlex.split(command_line(*arguments)) == [*shlex.split(program_command()), *arguments]


@given(
    url=st.one_of(st.none(), ARGUMENT),
    client_id=st.one_of(st.none(), ARGUMENT),
    tenant=st.one_of(st.none(), ARGUMENT),
)
def test_connection_flags_repeat_what_was_given(
    url: str | None, client_id: str | None, tenant: str | None
) -> None:
    args = argparse.Namespace(
        profile=None, url=url, client_id=client_id, tenant=tenant, ca_file=None, rate_limit=None
    )
    args.client_secret = "never-printed"  # even if something put one on the namespace
    flags = connection_flags(args)
    expected = []
    for option, value in (("--url", url), ("--client-id", client_id), ("--tenant", tenant)):
        if value:
            expected += [option, value]
    assert flags == expected
    assert "never-printed" not in flags


def test_every_outcome_has_words_without_machine_names() -> None:
    assert set(OUTCOME_WORDS) == {outcome.value for outcome in RunOutcome}
    for outcome in RunOutcome:
        assert "_" not in outcome_words(outcome.value)
    assert outcome_words("from_a_newer_version") == "from a newer version"
