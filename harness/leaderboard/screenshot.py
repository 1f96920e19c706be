"""Headless Chromium for the leaderboard page: full-page screenshots (README) and browser tests.

Uses the system Chromium and chromedriver through selenium, never selenium's driver manager
(no download ever): ``binary_location`` and ``Service(executable_path=...)`` are always given.
The paths default to Debian's ``/usr/bin/chromium`` and ``/usr/bin/chromedriver`` and can be
changed with ``KINETIX_BENCH_CHROMIUM`` / ``KINETIX_BENCH_CHROMEDRIVER``. selenium is imported
lazily (it is a test extra, not a runtime dependency).

* :func:`browser_unavailable` says why no browser can be started (None when one can);
* :func:`headless_chromium` is a context manager yielding a selenium driver;
* :func:`full_page_screenshot` grows the window to the document height and saves a PNG;
* :func:`screenshot_page` does all of it for one HTML file.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from kinetix.atomic_io import atomic_write_bytes

__all__ = [
    "BrowserUnavailable",
    "chromium_paths",
    "browser_unavailable",
    "headless_chromium",
    "full_page_screenshot",
    "screenshot_page",
]

MAX_HEIGHT = 16384  # px; Chromium cannot capture much taller surfaces
_ARGS = (
    "--headless=new",
    "--no-sandbox",  # containers and root: the sandbox cannot start; we only load local files
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--hide-scrollbars",
    "--force-device-scale-factor=1",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-extensions",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-sync",
    "--mute-audio",
)


class BrowserUnavailable(RuntimeError):
    """No headless browser can be started (Chromium, chromedriver or selenium missing)."""


def chromium_paths() -> tuple[str, str]:
    """``(chromium, chromedriver)`` executable paths (environment overrides, else /usr/bin)."""
    return (
        os.environ.get("KINETIX_BENCH_CHROMIUM", "/usr/bin/chromium"),
        os.environ.get("KINETIX_BENCH_CHROMEDRIVER", "/usr/bin/chromedriver"),
    )


def browser_unavailable() -> str | None:
    """Why a headless Chromium cannot be started here, or None when it can."""
    chromium, driver = chromium_paths()
    for what, path in (("Chromium", chromium), ("chromedriver", driver)):
        if not (os.path.isfile(path) and os.access(path, os.X_OK)):
            return f"{what} not found at {path} (apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[test]')"
    return None


@contextlib.contextmanager
def headless_chromium(width: int = 1280, height: int = 900):
    """A selenium Chrome driver on headless system Chromium, window ``width`` x ``height`` px.

    Browser console messages are kept (``driver.get_log("browser")``). Raises
    :class:`BrowserUnavailable` when Chromium, chromedriver or selenium is missing.
    """
    reason = browser_unavailable()
    if reason:
        raise BrowserUnavailable(reason)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    chromium, chromedriver = chromium_paths()
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in _ARGS:
        options.add_argument(arg)
    options.add_argument(f"--window-size={int(width)},{int(height)}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
    try:
        driver.set_page_load_timeout(60)
        set_viewport(driver, width, height)
        yield driver
    finally:
        driver.quit()


def set_viewport(driver, width: int, height: int) -> None:
    """Resize the window so that the page's viewport is ``width`` x ``height`` CSS px."""
    driver.set_window_size(int(width), int(height))
    inner = driver.execute_script("return [window.innerWidth, window.innerHeight];")
    dw, dh = int(width) - int(inner[0]), int(height) - int(inner[1])
    if dw or dh:
        driver.set_window_size(int(width) + dw, int(height) + dh)


def document_height(driver) -> int:
    """The page's full height in CSS px."""
    return int(
        driver.execute_script(
            "var d = document.documentElement, b = document.body;"
            "return Math.ceil(Math.max(d.scrollHeight, d.offsetHeight,"
            " b ? b.scrollHeight : 0, b ? b.offsetHeight : 0));"
        )
    )


def full_page_screenshot(driver, png_path, width: int = 1280, height: int | None = None) -> Path:
    """Save a PNG of the loaded page, ``width`` px wide and the whole document tall.

    ``height``: the viewport height in px; None (default) means the document's height (at most
    :data:`MAX_HEIGHT`), so the image holds the full page. Written atomically; returns the path.
    """
    set_viewport(driver, width, 900)
    h = document_height(driver) if height is None else int(height)
    set_viewport(driver, width, max(1, min(h, MAX_HEIGHT)))
    path = Path(png_path)
    atomic_write_bytes(path, driver.get_screenshot_as_png())
    return path


def screenshot_page(html_path, png_path, width: int = 1280, height: int | None = None) -> Path:
    """Open ``html_path`` in headless Chromium and save a full-page screenshot to ``png_path``.

    ``width``: viewport width in px; ``height``: viewport height in px, None for the full
    document height. Raises :class:`BrowserUnavailable` or :class:`FileNotFoundError`.
    """
    page = Path(html_path).resolve()
    if not page.is_file():
        raise FileNotFoundError(f"html_path: no such file: {page}")
    with headless_chromium(width, 900) as driver:
        driver.get(page.as_uri())
        return full_page_screenshot(driver, png_path, width=width, height=height)
