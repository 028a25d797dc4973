"""Regenerate docs/example-report/: gray vs the bundled model on scikit-image's color sample photos.

Usage: python benchmarks/example_report.py [OUT_DIR]
Those photos ship inside scikit-image, so the report (unlike the bench reports) can show its image grid.
"""

import subprocess
import sys
import tempfile
from pathlib import Path

from PIL import Image
from skimage import data

PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "immunohistochemistry", "retina")


def main(out: Path) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        for name in PHOTOS:
            Image.fromarray(getattr(data, name)()[..., :3]).save(Path(tmp) / f"{name}.png")
        subprocess.run([sys.executable, "-m", "chromagen", "evaluate", "--model", "gray", "--model", "default",
                        "--data", tmp, "--device", "cpu", "--report", str(out / "report.md"),
                        "--json", str(out / "report.json")], check=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/example-report"))
