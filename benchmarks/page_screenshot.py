"""The README's screenshot: the web page after colorizing a bundled example, with color hints.

Usage: python benchmarks/page_screenshot.py [--out docs/images/server-page.png] [--example 1927-pet-ducks]
       [--hint X,Y,#RRGGBB ...]

Serves the app on 127.0.0.1 (a free port) in this process, opens it in headless Chromium (the browser
tests' setup), clicks the example in the gallery, waits for the colorized result, then clicks each hint's
pixel on the photo and sets its color as a user would, waits for the re-colorized result and saves a
screenshot.
"""

import argparse
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))  # the browser and live-server helpers live with the tests

from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

from chromagen.server import Settings, create_app  # noqa: E402
from tests.browser import headless_chromium  # noqa: E402
from tests.server_helpers import live_server  # noqa: E402

DEFAULT_HINTS = ["467,290,#2a5db0", "480,392,#8a2a2a"]  # the right-hand woman: coat blue, skirt red


def add_hint(driver: "object", hint: str) -> None:
    """Click the hint's pixel on the photo, set its color in the picker, wait for the new result."""
    x, y, color = hint.split(",")
    layer = driver.find_element(By.ID, "points")
    count = int(layer.get_attribute("data-count") or 0)
    width, height = driver.execute_script("const b = document.getElementById('before');"
                                          "return [b.naturalWidth, b.naturalHeight]")
    box = layer.rect
    ActionChains(driver).move_to_element_with_offset(
        layer, round((int(x) + 0.5) / width * box["width"] - box["width"] / 2),
        round((int(y) + 0.5) / height * box["height"] - box["height"] / 2)).click().perform()
    WebDriverWait(driver, 60).until(lambda d: layer.get_attribute("data-count") == str(count + 1))
    renders = driver.execute_script("return Number(document.body.dataset.renders)")
    driver.execute_script("const c = document.getElementById('hint-color'); c.value = arguments[0];"
                          "c.dispatchEvent(new Event('input'));", color)
    WebDriverWait(driver, 120).until(lambda d: d.execute_script(
        f"return Number(document.body.dataset.renders) > {renders} && document.body.dataset.state === 'ready'"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "images" / "server-page.png")
    parser.add_argument("--example", default="1927-pet-ducks")
    parser.add_argument("--split", type=int, default=35, help="before/after slider position (percent)")
    parser.add_argument("--chroma", type=float, default=1.5, help="saturation slider value")
    parser.add_argument("--hint", action="append", help="X,Y,#RRGGBB in pixels of the example (repeatable; "
                        f"default: {' '.join(DEFAULT_HINTS)})")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, live_server(create_app(Settings(study_db=Path(tmp) / "s.db"))) as url:
        driver = headless_chromium(Path(tmp), width=900, height=1250)
        try:
            driver.get(url + "/")
            WebDriverWait(driver, 30).until(lambda d: d.find_elements(By.CSS_SELECTOR, "#gallery button"))
            driver.find_element(By.CSS_SELECTOR, f"#gallery button[aria-label$='{args.example}']").click()
            ready = "return document.body.dataset.state === 'ready'"
            WebDriverWait(driver, 120).until(lambda d: d.execute_script(ready))
            driver.execute_script(f"const s = document.getElementById('split'); s.value = {args.split};"
                                  "s.dispatchEvent(new Event('input'));"
                                  f"const c = document.getElementById('chroma'); c.value = {args.chroma};"
                                  "c.dispatchEvent(new Event('input'));")
            WebDriverWait(driver, 120).until(lambda d: d.execute_script(
                "return document.body.dataset.renders === '2' && document.body.dataset.state === 'ready'"))
            driver.execute_script("document.getElementById('result-title').scrollIntoView()")  # the whole photo
            for hint in args.hint or DEFAULT_HINTS:
                add_hint(driver, hint)
            args.out.parent.mkdir(parents=True, exist_ok=True)
            driver.save_screenshot(str(args.out))
        finally:
            driver.quit()
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
