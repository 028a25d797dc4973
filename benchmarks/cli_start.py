"""Where the CLI's start and end go (docs/runtime.md, "Session 8"), each figure from fresh processes run
alternately, median (range) of ``--repeats``:

- teardown: seconds from the end of ``import chromagen.cli`` to the process's end, exiting normally or
  with ``os._exit`` (what ``chromagen.cli.main`` does after the exit handlers);
- the default network's ONNX session, the first of a process and a second one, with this machine's cached
  optimized copy and without (``CHROMAGEN_ONNX_CACHE`` pointed where nothing can be written);
- ``import numpy``: wall and CPU time, with OpenBLAS's default thread pool and with one thread;
- where one ``chromagen colorize`` of a 1024x768 gray JPEG spends its time, from its own import to its
  return (run in the child through ``app(..., standalone_mode=False)``, the steps timed by wrapping them).

chromagen's bytecode is compiled first, as installing the package does.

    PYTHONPATH=src python benchmarks/cli_start.py --repeats 7
"""

import argparse
import compileall
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TEARDOWN = ("import time, os\nimport chromagen.cli\nprint(time.time(), flush=True)\n"
            "if {fast}: os._exit(0)\n")
SESSIONS = ("import time\nfrom chromagen.backends.onnx_backend import OnnxBackend\nfrom chromagen.catalog import "
            "bundled_entry\npath = bundled_entry('default').path.with_suffix('.onnx')\nstamps = [time.perf_counter()]\n"
            "for _ in range(2):\n    OnnxBackend(path, threads=2)\n    stamps.append(time.perf_counter())\n"
            "print(stamps[1] - stamps[0], stamps[2] - stamps[1])\n")
NUMPY = ("import resource, time\nt = time.perf_counter()\nimport numpy\nr = resource.getrusage(resource.RUSAGE_SELF)\n"
         "print(time.perf_counter() - t, r.ru_utime + r.ru_stime)\n")
STEPS = """
import sys, time
spent = {}
def timed(owner, name, label):
    step = getattr(owner, name)
    def run(*args, **kwargs):
        start = time.perf_counter()
        try:
            return step(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.perf_counter() - start
    setattr(owner, name, run)
start = time.perf_counter()
import chromagen.cli
spent["import"] = time.perf_counter() - start
from chromagen.inference import Colorizer
from chromagen.media import image
timed(Colorizer, "from_pretrained", "model")
timed(image, "load_image", "decode")
timed(Colorizer, "colorize", "colorize")
timed(image, "save_image", "encode")
chromagen.cli.app(["colorize", sys.argv[1], "-o", sys.argv[2], "--overwrite"], standalone_mode=False)
total = time.perf_counter() - start
print(*[spent[k] for k in ("import", "model", "decode", "colorize", "encode")], total - sum(spent.values()))
"""
STEP_NAMES = ["import chromagen.cli", "model (ORT start, session)", "decode", "colorize", "encode", "the rest"]


def _run(code: str, env: dict[str, str], args: tuple[str, ...] = ()) -> tuple[list[float], float]:
    """The child's printed numbers (its last line), and the wall clock time at which it ended."""
    out = subprocess.run([sys.executable, "-c", code, *args], env={**os.environ, **env}, capture_output=True,
                         text=True, check=True).stdout.splitlines()[-1]
    return [float(v) for v in out.split()], time.time()


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    import chromagen
    from cpu_latency import _photo

    compileall.compile_dir(Path(chromagen.__file__).parent, quiet=1)  # as an install does (cpu_latency.py)
    folder = Path(tempfile.mkdtemp())
    blocked = folder / "a-file"
    blocked.write_text("")
    photo = (str(_photo(folder)), str(folder / "out"))
    variants = {
        "teardown, normal exit": (TEARDOWN.format(fast=False), {}),
        "teardown, os._exit": (TEARDOWN.format(fast=True), {}),
        "sessions, cached copy": (SESSIONS, {}),
        "sessions, no cache": (SESSIONS, {"CHROMAGEN_ONNX_CACHE": str(blocked / "onnx")}),
        "import numpy, OpenBLAS default": (NUMPY, {}),
        "import numpy, OPENBLAS_NUM_THREADS=1": (NUMPY, {"OPENBLAS_NUM_THREADS": "1"}),
        "colorize steps": (STEPS, {}),
    }
    _run(SESSIONS, {})  # writes this machine's cached copy, if it is not there yet
    results: dict[str, list[list[float]]] = {name: [] for name in variants}
    for _ in range(args.repeats):
        for name, (code, env) in variants.items():
            numbers, ended = _run(code, env, photo if code is STEPS else ())
            results[name].append([ended - numbers[0]] if name.startswith("teardown") else numbers)
    print(time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), f"load average {os.getloadavg()[0]:.1f}",
          f"{args.repeats} fresh processes each, alternating")
    columns = {"teardown": ["import end -> process end"], "sessions": ["first session", "second session"],
               "import numpy": ["wall", "CPU time"], "colorize steps": STEP_NAMES}
    for name, rows in results.items():
        labels = next(v for k, v in columns.items() if name.startswith(k))
        print(f"{name:38s}", "\n    ".join(f"{label} {_summary([r[i] for r in rows])}"
                                           for i, label in enumerate(labels)))
    print(json.dumps({name: rows for name, rows in results.items()}))


if __name__ == "__main__":
    main()
