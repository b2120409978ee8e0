"""The CLI's output never fails on a character the console's encoding lacks (Windows' cp1252)."""

from __future__ import annotations

import io

from halo_paylink.cli.terminal import make_output_safe, say, say_json

NAME = "Dvořák"  # 'ř' is not in cp1252


class TtyBytes(io.BytesIO):
    def isatty(self) -> bool:
        return True


def cp1252(raw: io.BytesIO) -> io.TextIOWrapper:
    return io.TextIOWrapper(raw, encoding="cp1252", errors="strict")


def test_a_file_or_pipe_gets_utf8() -> None:
    raw = io.BytesIO()
    stream = cp1252(raw)
    make_output_safe(stream)
    say_json({"client": NAME}, file=stream)
    say(f"client {NAME}", file=stream)
    stream.flush()
    assert raw.getvalue().decode("utf-8") == f'{{"client": "{NAME}"}}\nclient {NAME}\n'


def test_a_legacy_console_shows_an_escape_instead_of_failing() -> None:
    raw = TtyBytes()
    stream = cp1252(raw)
    make_output_safe(stream)
    say(f"client {NAME}", file=stream)
    stream.flush()
    assert stream.encoding == "cp1252"  # what the terminal shows, it keeps
    assert raw.getvalue().decode("cp1252") == "client Dvo\\u0159ák\n"


def test_streams_that_are_not_text_files_are_left_alone() -> None:
    make_output_safe(None, io.StringIO())  # pythonw's missing stdout, a test's capture
