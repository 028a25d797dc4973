"""``chromagen serve``: a REST API and a static web page on top of the one ``Colorizer`` pipeline.

The app holds no image or color logic: it translates HTTP into ``load_image`` / ``Colorizer`` /
``save_image`` calls, bounds the work it accepts (upload size, pixels, queue) and turns every expected
failure into a JSON ``{"error": ...}`` answer.
"""

from chromagen.server.app import create_app
from chromagen.server.settings import Settings

__all__ = ["Settings", "create_app"]
