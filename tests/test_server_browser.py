"""The page in real headless Chromium: upload, wait, check the size, move both sliders, download, add, recolor,
move and delete a color hint, answer the study.

Skipped only where no browser is installed, unless CHROMAGEN_REQUIRE_BROWSER=1 (CI), where that fails.
"""

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from chromagen.server import Settings, create_app
from tests.browser import browser_available, headless_chromium
from tests.conftest import smooth_color_image
from tests.server_helpers import live_server

if not browser_available() and os.environ.get("CHROMAGEN_REQUIRE_BROWSER") != "1":
    pytest.skip("chromium and chromedriver are not installed (apt-get install chromium chromium-driver)",
                allow_module_level=True)

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, random_model_file: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path_factory.mktemp("site")
    study = root / "study"
    study.mkdir()
    for i in range(2):
        Image.fromarray(smooth_color_image(60, 80, seed=i)).save(study / f"real{i}.jpg")
    settings = Settings(model=str(random_model_file), device="cpu", size=64, study_dir=study,
                        study_db=root / "study.sqlite")
    with live_server(create_app(settings)) as url:
        yield url, root


@pytest.fixture(scope="module")
def driver(site: tuple[str, Path]) -> Iterator["object"]:
    downloads = site[1] / "downloads"
    downloads.mkdir()
    browser = headless_chromium(downloads)
    browser.downloads = downloads
    try:
        yield browser
    finally:
        browser.quit()


def _wait_for(driver: "object", condition: str, timeout: float = 30) -> None:
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(f"return {condition}"))


def test_colorize_page_end_to_end(site: tuple[str, Path], driver: "object", tmp_path: Path) -> None:
    url, _ = site
    photo = tmp_path / "harbour.jpg"
    Image.fromarray(smooth_color_image(90, 130)).convert("L").save(photo)
    driver.get(url + "/")
    driver.find_element(By.ID, "file").send_keys(str(photo))
    _wait_for(driver, "document.body.dataset.state === 'ready'")
    size = driver.execute_script("const a = document.getElementById('after'); return [a.naturalWidth, a.naturalHeight]")
    assert size == [130, 90]
    assert "130 × 90" in driver.find_element(By.ID, "dimensions").text

    split = driver.find_element(By.ID, "split")
    split.send_keys(Keys.END)  # keyboard only: the before/after slider to the right
    split_css = "return document.getElementById('compare').style.getPropertyValue('--split')"
    assert driver.execute_script(split_css) == "100%"

    first = driver.execute_script("return document.getElementById('after').src")
    driver.find_element(By.ID, "chroma").send_keys(Keys.ARROW_RIGHT * 10)
    _wait_for(driver, "Number(document.body.dataset.renders) >= 2 && document.body.dataset.state === 'ready'")
    assert driver.execute_script("return document.getElementById('after').src") != first
    assert driver.find_element(By.ID, "chroma-value").text == f"{1 + 10 * 0.05:.2f}"

    driver.find_element(By.ID, "download").click()
    assert Image.open(_downloaded(driver, "harbour-color.png")).size == (130, 90)


def _downloaded(driver: "object", name: str) -> Path:
    target = driver.downloads / name
    deadline = time.monotonic() + 20
    while not target.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    return target


def test_a_multi_page_tiff_is_shown_by_its_first_page_and_downloaded_whole(site: tuple[str, Path], driver: "object",
                                                                          tmp_path: Path) -> None:
    """Chromium cannot show a TIFF: the page shows the server's gray render of it as the "before" instead."""
    scan = tmp_path / "letter.tif"
    pages = [Image.fromarray(smooth_color_image(60 + 10 * i, 80, seed=i)) for i in range(2)]
    pages[0].save(scan, save_all=True, append_images=pages[1:])
    driver.get(site[0] + "/")
    driver.find_element(By.ID, "file").send_keys(str(scan))
    _wait_for(driver, "document.body.dataset.state === 'ready'")
    before = "const b = document.getElementById('before'); return [b.naturalWidth, b.naturalHeight]"
    assert driver.execute_script(before) == [80, 60]
    assert "page 1 of 2" in driver.find_element(By.ID, "dimensions").text
    driver.find_element(By.CSS_SELECTOR, "#format option[value='tiff']").click()
    driver.find_element(By.ID, "download").click()
    with Image.open(_downloaded(driver, "letter-color.tif")) as result:
        assert result.n_frames == 2 and result.size == (80, 60)


# A checksum of the shown result's pixels, and the RGB of one of them (both decoded by the browser).
SHOWN = """const a = document.getElementById('after'), c = document.createElement('canvas');
c.width = a.naturalWidth; c.height = a.naturalHeight;
const g = c.getContext('2d'); g.drawImage(a, 0, 0);
const d = g.getImageData(0, 0, c.width, c.height).data;
let sum = 0; for (let i = 0; i < d.length; i++) sum = (sum * 31 + d[i]) % 1000000007;
return [sum, Array.from(g.getImageData(arguments[0], arguments[1], 1, 1).data.slice(0, 3))];"""


def _rendered_after(driver: "object", renders: int) -> int:
    """Wait until a render newer than ``renders`` is shown; its count."""
    _wait_for(driver, f"Number(document.body.dataset.renders) > {renders} && document.body.dataset.state === 'ready'")
    return int(driver.execute_script("return document.body.dataset.renders"))


def test_color_hint_is_dropped_recolored_moved_and_deleted(site: tuple[str, Path], driver: "object",
                                                           tmp_path: Path) -> None:
    photo = tmp_path / "street.jpg"
    Image.fromarray(smooth_color_image(90, 130)).convert("L").save(photo)
    driver.get(site[0] + "/")
    driver.find_element(By.ID, "file").send_keys(str(photo))
    _wait_for(driver, "document.body.dataset.state === 'ready'")
    renders = int(driver.execute_script("return document.body.dataset.renders"))
    automatic, _ = driver.execute_script(SHOWN, 0, 0)

    layer = driver.find_element(By.ID, "points")  # the photo's size on screen: 130 x 90 CSS px
    ActionChains(driver).move_to_element_with_offset(layer, -24, -4).click().perform()  # pixel (40, 40)
    _wait_for(driver, "document.getElementById('points').dataset.count === '1'")
    point = driver.find_element(By.CSS_SELECTOR, "#points .point")
    assert point.get_attribute("aria-label").startswith("Hint 1 at 40, 40: #")
    assert driver.find_element(By.ID, "model").get_attribute("value") == "hints"  # the hint-aware model
    renders = _rendered_after(driver, renders)
    _wait_for(driver, "document.querySelectorAll('#suggestions .swatch').length > 0")
    driver.find_elements(By.CSS_SELECTOR, "#suggestions .swatch")[-1].click()
    renders = _rendered_after(driver, renders)
    assert driver.find_elements(By.CSS_SELECTOR, "#suggestions .swatch")[-1].get_attribute("aria-pressed") == "true"

    driver.execute_script("const c = document.getElementById('hint-color'); c.value = '#ff0000';"
                          "c.dispatchEvent(new Event('input'));")  # what picking in the native dialog does
    renders = _rendered_after(driver, renders)
    hinted, (red, _, blue) = driver.execute_script(SHOWN, 40, 40)
    assert hinted != automatic and red > blue + 20
    assert point.get_attribute("aria-label") == "Hint 1 at 40, 40: #ff0000"

    ActionChains(driver).click_and_hold(point).move_by_offset(20, 10).release().perform()
    renders = _rendered_after(driver, renders)
    assert point.get_attribute("aria-label") == "Hint 1 at 60, 50: #ff0000"
    assert driver.execute_script(SHOWN, 0, 0)[0] != hinted

    point.send_keys(Keys.DELETE)  # the focused point, from the keyboard
    _wait_for(driver, "document.getElementById('points').dataset.count === '0'")
    _rendered_after(driver, renders)
    assert driver.find_element(By.ID, "hint-editor").get_attribute("hidden")
    assert driver.find_element(By.ID, "model").get_attribute("value") == "random"  # the model from before
    assert driver.execute_script(SHOWN, 0, 0)[0] == automatic


def test_page_reports_a_bad_file(site: tuple[str, Path], driver: "object", tmp_path: Path) -> None:
    notes = tmp_path / "notes.jpg"
    notes.write_text("not a photo")
    driver.get(site[0] + "/")
    driver.find_element(By.ID, "file").send_keys(str(notes))
    _wait_for(driver, "document.body.dataset.state === 'error'")
    assert "notes.jpg: " in driver.find_element(By.ID, "status").text


def test_study_page_records_an_answer(site: tuple[str, Path], driver: "object") -> None:
    driver.get(site[0] + "/study")
    _wait_for(driver, "document.body.dataset.state === 'ready'")
    driver.find_element(By.ID, "answer-real").click()
    _wait_for(driver, "document.getElementById('results').dataset.answers === '1'")
    results = driver.find_element(By.ID, "results").text  # one answer: either a colorized or a real photo
    assert results.startswith("Fooled rate: ") or "Real photos judged real: " in results
    assert "that one was" in driver.find_element(By.ID, "status").text


def test_every_control_is_reachable_by_tab_and_fits_a_phone(site: tuple[str, Path], driver: "object",
                                                          tmp_path: Path) -> None:
    photo = tmp_path / "street.png"
    Image.fromarray(smooth_color_image(300, 400)).save(photo)
    driver.set_window_size(390, 844)  # a phone in portrait
    try:
        driver.get(site[0] + "/")
        driver.find_element(By.ID, "file").send_keys(str(photo))
        _wait_for(driver, "document.body.dataset.state === 'ready'")
        assert driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")
        reached = set()
        for _ in range(25):
            ActionChains(driver).send_keys(Keys.TAB).perform()  # to the page, like a keyboard
            reached.add(driver.switch_to.active_element.get_attribute("id") or
                        driver.switch_to.active_element.get_attribute("aria-label"))
        assert {"file", "split", "chroma", "model", "format", "download"} <= reached
        assert any(name and name.startswith("Colorize the example") for name in reached)
    finally:
        driver.set_window_size(1100, 1000)
