"""The review page at `/` in headless Chromium against a real `docvlm serve`."""

from __future__ import annotations

import io
import shutil
import tempfile
from pathlib import Path

import pytest
from PIL import Image

from tests.serving import running_server

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="headless Chromium not installed (apt-get install chromium chromium-driver)",
)
HEADING_RGB = (0xD6, 0x27, 0x28)  # the review page's colour for headings


@pytest.fixture(scope="module")
def browser():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="docvlm-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1600,1000",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    with running_server() as running:
        yield running


def test_review_page_draws_boxes_and_highlights_the_clicked_block(browser, server) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(server.url + "/")
    assert "docvlm review" in browser.title
    browser.find_element(By.ID, "file").send_keys(str(SAMPLES / "report.pdf"))
    wait = WebDriverWait(browser, 90)
    wait.until(lambda d: "page(s)" in d.find_element(By.ID, "status").text)
    boxes = browser.find_elements(By.CSS_SELECTOR, "#page-1 .box")
    assert len(boxes) >= 5
    pieces = browser.find_elements(By.CSS_SELECTOR, "#markdown .piece")
    assert pieces and browser.find_elements(By.CSS_SELECTOR, "#json pre")

    heading = next(b for b in boxes if b.get_attribute("data-kind") == "heading")
    assert "engine text" in heading.get_attribute("title")
    assert "confidence" in heading.get_attribute("title")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", heading)
    screenshot = Image.open(io.BytesIO(browser.get_screenshot_as_png())).convert("RGB")
    rect = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect();return [r.left, r.top, r.right, r.bottom];",
        heading,
    )
    left, top, right, bottom = (round(v) for v in rect)
    border = [screenshot.getpixel((left + 1, y)) for y in range(top + 3, bottom - 3)]
    assert border, rect
    coloured = [
        p for p in border if all(abs(a - b) < 40 for a, b in zip(p, HEADING_RGB, strict=True))
    ]
    assert len(coloured) > 0.8 * len(border), border[:5]
    inside = screenshot.crop((left + 3, top + 3, right - 3, bottom - 3))
    assert inside.getextrema() != ((255, 255), (255, 255), (255, 255))  # tinted, not blank

    heading.click()
    index = heading.get_attribute("id").removeprefix("box-")
    text = browser.find_element(By.ID, f"md-{index}")
    wait.until(expected_conditions.element_to_be_clickable(text))
    assert "highlight" in text.get_attribute("class")
    assert text.text.startswith("#")
    background = text.value_of_css_property("background-color")
    assert background not in ("rgba(0, 0, 0, 0)", "transparent")
    assert "highlight" in browser.find_element(By.ID, f"json-{index}").get_attribute("class")
    visible = browser.execute_script(
        "const r = arguments[0].getBoundingClientRect(),"
        " p = arguments[0].closest('section').getBoundingClientRect();"
        "return r.top >= p.top && r.bottom <= p.bottom;",
        text,
    )
    assert visible  # scrolled into view
    assert len(browser.find_elements(By.CSS_SELECTOR, ".highlight")) == 3
