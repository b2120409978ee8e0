"""The one home of 'a page with one cancellable task': leaving cancels it and saves, stop waits."""

from __future__ import annotations

import asyncio
from typing import Any

from halo_paylink.core.wizard import PageId
from halo_paylink.ui.pages.application import ApplicationPage
from halo_paylink.ui.pages.base import BasePage
from halo_paylink.ui.pages.email_link import EmailLinkPage


def test_email_and_application_pages_share_the_base_pages_leave_and_stop() -> None:
    for page in (EmailLinkPage, ApplicationPage):
        assert page.leave is BasePage.leave, page
        assert page.stop is BasePage.stop, page


class OneTaskPage(BasePage):
    page_id = PageId.OPTIONS

    def run(self) -> asyncio.Event:
        ended = asyncio.Event()

        async def work() -> None:
            await asyncio.sleep(3600)

        def finished() -> None:
            self._handle = None
            ended.set()

        self._handle = self.start(work(), name="long work", on_finally=finished)
        return ended


def test_leaving_cancels_the_pages_task_and_saves_the_profile(
    qtbot: Any, make_context: Any
) -> None:
    context = make_context()
    context.open_profile("Acme", create=True)
    qtbot.waitUntil(lambda: "Acme" in context.profiles.names())
    context.state.options.use_halo_pdf = True
    page = OneTaskPage(context)
    ended = page.run()
    handle = page._handle
    assert handle is not None and handle.running

    page.leave(forward=True)

    qtbot.waitUntil(ended.is_set, timeout=3000)
    assert handle.task.cancelled()
    qtbot.waitUntil(lambda: context.profiles.get("Acme").pdf.use_halo_pdf, timeout=3000)


def test_stop_cancels_the_pages_task_and_waits_for_it(
    qtbot: Any, arun: Any, make_context: Any
) -> None:
    page = OneTaskPage(make_context())
    page.run()
    handle = page._handle
    assert handle is not None

    async def stop_then_look() -> bool:
        await page.stop()
        return handle.task.done()  # when stop returns, the task has ended

    assert arun(stop_then_look())
    assert handle.task.cancelled() and page._handle is None
    arun(page.stop())  # nothing running: harmless
