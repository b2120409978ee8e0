"""The README's command examples, run in order on a fresh app folder against the sandbox: the
documented `profiles create` first, then every example as written (optional parts left out,
the address and client id pointed at the sandbox, RUN_ID the run the examples made)."""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

from halo_paylink.sandbox.benji import DEMO_BENJI_API_KEY, BenjiSandbox
from halo_paylink.storage.paths import program_command

from .cli_helpers import cli_env, run_cli
from .conftest import snapshot

README = Path(__file__).resolve().parents[3] / "README.md"
EXAMPLE_URL = "https://acme.halopsa.com"


def readme_commands() -> list[list[str]]:
    """The `halo-paylink` lines of the README's command block, split, optional parts dropped."""
    text = README.read_text(encoding="utf-8")
    block = text.split("Everything the window")[1].split("```sh\n", 1)[1].split("```", 1)[0]
    joined = block.replace("\\\n", " ")
    commands = []
    for line in joined.splitlines():
        line = re.sub(r"\s+#\s.*$", "", line.strip())
        if not line or line.startswith("#"):
            continue
        tokens = shlex.split(line)
        while tokens and "=" in tokens[0] and not tokens[0].startswith("-"):
            tokens.pop(0)  # an environment assignment before the command
        assert tokens[0] == "halo-paylink", line
        kept, optional = [], 0
        for token in tokens[1:]:
            optional += token.startswith("[")
            if not optional:
                kept.append(token)
            optional -= token.endswith("]") and optional > 0
        commands.append(kept)
    return commands


def test_every_readme_example_works_after_the_documented_create(make_sandbox, tmp_path) -> None:
    box = make_sandbox(invoices=60)
    benji = BenjiSandbox.for_halo(box)
    benji.start()
    try:
        _run_the_examples(box, benji, tmp_path)
    finally:
        benji.stop()


#: Exit codes that mean the command did what it says: a check that reports a failed item (1).
REPORTS_FAILURES = {("benji", "check"): {0, 1}, ("benji", "numbers"): {0, 1}}
#: Changes to Halo that ask first on a terminal: without one (as here) the README's [--yes].
ASK_FIRST = {
    ("template", "insert"),
    ("template", "undo"),
    ("button", "create"),
    ("button", "remove"),
}


def _run_the_examples(box, benji: BenjiSandbox, tmp_path: Path) -> None:
    env = cli_env(tmp_path, box.config.client_secret)
    env.update(HALO_PAYLINK_BENJI_URL=benji.url, BENJI_API_KEY=DEMO_BENJI_API_KEY)
    commands = readme_commands()
    assert commands[0][0] == "sandbox"
    # `profiles remove` would take the profile from the examples after it: it runs last.
    commands = [c for c in commands[1:] if c[:2] != ["profiles", "remove"]] + [
        c for c in commands if c[:2] == ["profiles", "remove"]
    ]
    assert commands[0][:2] == ["profiles", "create"]
    with_profile = [c for c in commands if "--profile" in c]
    assert len(with_profile) >= 7, with_profile
    program = shlex.split(program_command())
    before = snapshot(box)
    run_id = ""
    for command in commands:
        args = [
            box.url if a == EXAMPLE_URL else box.config.client_id if a == "ID" else a
            for a in command
        ]
        args = [run_id if a == "RUN_ID" else a for a in args]
        if tuple(args[:2]) in ASK_FIRST:
            args.append("--yes")
        plain_run = args[:3] == ["backfill", "--profile", "acme"] and len(args) == 3
        if plain_run:  # stop the run half way, so the resume example has a run to resume
            box.faults.add(status=403, method="POST", path="/api/invoice", times=None)
        done = subprocess.run(
            [*program, *args], env=env, capture_output=True, text=True, timeout=120
        )
        box.faults.clear()
        expected = {12} if plain_run else REPORTS_FAILURES.get(tuple(args[:2]), {0})
        assert done.returncode in expected, (args, done.stdout, done.stderr)
        assert "Traceback" not in done.stderr
        if plain_run:
            runs = json.loads(run_cli(["runs", "--json"], env).stdout)["runs"]
            run_id = runs[-1]["run_id"]
    # The undo example restored what the run wrote; the pilot's one invoice keeps its link.
    after = snapshot(box)
    assert len([i for i in before if after[i] != before[i]]) == 1
