"""The window's banner words every failure as the CLI does (`errors.explain`): 'Halo said' only
for Halo's own words, 'Details' for everything else, the next step always."""

from __future__ import annotations

from typing import Any

from halo_paylink.errors import ErrorKind, HaloError, LocalError, explain


def shown(window: Any, error: BaseException) -> tuple[str, str]:
    page = window.current_page
    page.set_failure(error)
    message = page.banner()
    assert message is not None
    return message.headline, message.detail


def test_the_banner_and_the_cli_explain_alike(make_window: Any) -> None:
    window = make_window()
    answered = HaloError(ErrorKind.FORBIDDEN, "Access denied", status=403)
    headline, detail = shown(window, answered)
    assert headline == answered.headline
    assert detail == f"{answered.next_step}\nHalo said: Access denied"
    assert detail.splitlines()[-1] == explain(answered).detail

    never_reached = HaloError(ErrorKind.DNS, "[Errno -2] Name or service not known")
    assert shown(window, never_reached)[1].endswith(
        "\nDetails: [Errno -2] Name or service not known"
    )

    local = LocalError(ErrorKind.CA_FILE_UNREADABLE, "'ca.pem' holds no PEM certificate.")
    headline, detail = shown(window, local)
    assert headline == "The CA certificate file could not be used."
    assert "Halo said" not in detail and detail.endswith(
        "Details: 'ca.pem' holds no PEM certificate."
    )

    headline, detail = shown(window, RuntimeError("boom"))
    assert headline == "Something went wrong." and detail.endswith("Details: boom")
