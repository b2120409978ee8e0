"""The window fits the screen and reflows: its minimum within the available area (also at scale
factor 2), Back/Next/Cancel always inside it, content that scrolls instead of clipping, a
readable maximum width, and a step list that folds away when narrow."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QRect, QSize
from PySide6.QtWidgets import QWidget

from halo_paylink.core.wizard import PageId
from halo_paylink.ui.shell import CONTENT_MAX_WIDTH, STEPS_FOLD_WIDTH, fitted

PROBE = r"""
import asyncio, json, sys
import qasync
from halo_paylink.ui import app as app_module

qapp = app_module.make_application()
loop = qasync.QEventLoop(qapp)
asyncio.set_event_loop(loop)
app_module.install_asyncgen_hooks(loop)
context, window = app_module.build_window(demo=None, profile=None)
window.show()

async def probe():
    await asyncio.sleep(0.3)
    screen = window.screen().availableGeometry()
    inside = {}
    for name in ("back_button", "next_button", "cancel_button"):
        button = getattr(window, name)
        top_left = button.mapTo(window, button.rect().topLeft())
        inside[name] = [top_left.x(), top_left.y(), button.width(), button.height()]
    print(json.dumps({
        "available": [screen.width(), screen.height()],
        "minimum": [window.minimumWidth(), window.minimumHeight()],
        "size": [window.width(), window.height()],
        "buttons": inside,
        "ratio": window.devicePixelRatioF(),
    }))
    window._force_close = True
    window.close()
    await context.aclose()

with loop:
    loop.run_until_complete(probe())
"""


def run_probe(tmp_path: Path, width: int, height: int, scale: str) -> dict[str, Any]:
    screens = tmp_path / "screens.json"
    screens.write_text(
        json.dumps(
            {
                "screens": [
                    {
                        "name": "s",
                        "x": 0,
                        "y": 0,
                        "width": width,
                        "height": height,
                        "logicalDpi": 96,
                        "dpr": 1,
                    }
                ]
            }
        )
    )
    env = dict(os.environ)
    env.update(
        QT_QPA_PLATFORM=f"offscreen:configfile={screens}",
        QT_SCALE_FACTOR=scale,
        HALO_PAYLINK_HOME=str(tmp_path / "home"),
    )
    done = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def assert_fits(found: dict[str, Any]) -> None:
    available, minimum, size = found["available"], found["minimum"], found["size"]
    assert minimum[0] <= available[0] and minimum[1] <= available[1]
    assert size[0] <= available[0] and size[1] <= available[1]
    window = QRect(0, 0, size[0], size[1])
    for name, (x, y, w, h) in found["buttons"].items():
        assert window.contains(QRect(x, y, w, h)), name


def test_at_scale_factor_2_on_a_1920x1080_screen_the_window_fits(tmp_path: Path) -> None:
    found = run_probe(tmp_path, 1920, 1080, "2")
    assert found["ratio"] == 2.0
    assert found["available"] == [960, 540]
    assert_fits(found)


def test_on_a_1280x720_screen_the_window_fits(tmp_path: Path) -> None:
    found = run_probe(tmp_path, 1280, 720, "1")
    assert_fits(found)
    assert found["size"][0] >= 900  # and uses the room there is


def test_fitted_never_exceeds_the_screen() -> None:
    assert fitted(QSize(640, 480), QSize(960, 540)) == QSize(640, 480)
    assert fitted(QSize(980, 720), QSize(960, 540)) == QSize(960, 540)


def inside(window: QWidget, widget: QWidget) -> bool:
    top_left = widget.mapTo(window, QPoint(0, 0))
    return window.rect().contains(QRect(top_left, widget.size()))


def test_the_buttons_stay_inside_a_small_window(qtbot: Any, demo_window: Any, goto: Any) -> None:
    demo_window.resize(demo_window.minimumSize())
    for page_id in (PageId.WELCOME, PageId.CONNECT, PageId.APPLICATION, PageId.BACKFILL):
        goto(demo_window, page_id)
        qtbot.wait(50)
        for button in (demo_window.back_button, demo_window.next_button):
            assert inside(demo_window, button), (page_id, button.text())
        assert inside(demo_window, demo_window.cancel_button)


def test_a_tall_page_scrolls_instead_of_clipping(qtbot: Any, demo_window: Any, goto: Any) -> None:
    demo_window.resize(900, 650)
    goto(demo_window, PageId.BACKFILL)
    scroller = demo_window._scrollers[PageId.BACKFILL]
    qtbot.waitUntil(lambda: scroller.verticalScrollBar().isVisible(), timeout=3000)
    assert scroller.verticalScrollBar().maximum() > 0
    page = demo_window.current_page
    # nothing is cut off on the right: the page fits its viewport, or it scrolls sideways
    needed = page.minimumSizeHint().width()
    assert needed <= scroller.viewport().width() or scroller.horizontalScrollBar().isVisible()


def test_content_keeps_a_readable_width(qtbot: Any, demo_window: Any) -> None:
    demo_window.resize(1800, 900)
    qtbot.wait(50)
    assert demo_window.current_page.width() <= CONTENT_MAX_WIDTH


def test_the_step_list_folds_when_narrow_and_its_toggle_brings_it_back(
    qtbot: Any, demo_window: Any
) -> None:
    demo_window.resize(STEPS_FOLD_WIDTH + 200, 700)
    qtbot.waitUntil(demo_window.steps.isVisible)
    demo_window.resize(max(STEPS_FOLD_WIDTH - 100, demo_window.minimumWidth()), 700)
    qtbot.waitUntil(lambda: not demo_window.steps.isVisible())
    assert demo_window.steps_toggle.isVisible()
    demo_window.steps_toggle.click()
    assert demo_window.steps.isVisible()
    demo_window.steps_toggle.click()
    assert not demo_window.steps.isVisible()


def test_no_page_scrolls_sideways_at_900x650(qtbot: Any, demo_window: Any, goto: Any) -> None:
    """Content reflows (forms put a wide field below its label) instead of needing a sideways
    scroll bar, on every page up to the Backfill page."""
    demo_window.resize(900, 650)
    wide: dict[str, int] = {}
    for page_id in demo_window.flow.order[:-1]:
        goto(demo_window, page_id)
        qtbot.waitUntil(lambda: demo_window.current_page.busy_text() is None, timeout=15000)
        qtbot.wait(30)
        scroller = demo_window._scrollers[page_id]
        if scroller.horizontalScrollBar().maximum() > 0:
            wide[page_id.value] = scroller.horizontalScrollBar().maximum()
    assert wide == {}
