"""Load test of `chromagen serve`: N concurrent clients posting JPEGs for a bounded time, on loopback only.

Usage: python benchmarks/server_load.py [--clients 100] [--duration 60] [--megapixels 1] [--workers 1]
       [--queue 4] [--model default] [--json results.json]

Starts the server as its own process on 127.0.0.1 (a free port), waits for one warm-up answer, then runs
the clients for --duration seconds and stops by itself (requests still open then are abandoned and
counted apart). A client that gets 503 waits the Retry-After it was given before its next request, as
well-behaved clients do. Reports requests/s, latency percentiles, every status seen, errors (anything but
200 and 503-with-Retry-After) and the server process's peak resident memory (VmHWM).
"""

import argparse
import asyncio
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from PIL import Image

REPO = Path(__file__).resolve().parents[1]


def payloads(megapixels: float) -> list[bytes]:
    """The repository's example photos resized to about ``megapixels`` each, as JPEG files."""
    out = []
    for path in sorted((REPO / "examples").glob("*.jpg")):
        with Image.open(path) as im:
            scale = (megapixels * 1e6 / (im.width * im.height)) ** 0.5
            resized = im.convert("L").resize((round(im.width * scale), round(im.height * scale)), Image.BICUBIC)
        buffer = io.BytesIO()
        resized.save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def peak_rss_mb(pid: int) -> float:
    """The process's high-water resident set size so far (Linux /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("VmHWM not found")


def percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


async def client(http: httpx.AsyncClient, url: str, images: list[bytes], index: int, stop: float,
                 records: list[tuple[int, float, bool]]) -> None:
    """Post until ``stop``; record (status, seconds, has Retry-After); honor Retry-After on 503."""
    i = index
    while time.monotonic() < stop:
        image = images[i % len(images)]
        i += 1
        start = time.monotonic()
        try:
            response = await http.post(url, files={"image": (f"photo{i}.jpg", image, "image/jpeg")},
                                       data={"format": "jpeg"})
            status, retry = response.status_code, response.headers.get("retry-after")
        except httpx.HTTPError as exc:
            records.append((-1, time.monotonic() - start, False))
            print(f"client {index}: {type(exc).__name__}: {exc}", file=sys.stderr)
            continue
        records.append((status, time.monotonic() - start, retry is not None))
        if status == 503 and retry is not None:
            await asyncio.sleep(min(float(retry), max(0.0, stop - time.monotonic())))


async def run_clients(base: str, images: list[bytes], clients: int, duration: float) -> tuple[list, int, float]:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(300.0)) as http:
        warm = await http.post("/api/v1/colorize", files={"image": ("warm.jpg", images[0], "image/jpeg")})
        warm.raise_for_status()
        records: list[tuple[int, float, bool]] = []
        start = time.monotonic()
        stop = start + duration
        tasks = [asyncio.create_task(client(http, "/api/v1/colorize", images, i, stop, records))
                 for i in range(clients)]
        _, pending = await asyncio.wait(tasks, timeout=duration + 120)  # bounded: abandon what is still open
        for task in pending:
            task.cancel()
        return records, len(pending), time.monotonic() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load")
    parser.add_argument("--megapixels", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--queue", type=int, default=4)
    parser.add_argument("--model", default="default")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args()

    images = payloads(args.megapixels)
    port = free_port()
    command = [sys.executable, "-m", "chromagen", "serve", "--host", "127.0.0.1", "--port", str(port),
               "--model", args.model, "--workers", str(args.workers), "--queue", str(args.queue)]
    server = subprocess.Popen(command, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"server did not start (exit code {server.poll()})")
            time.sleep(0.3)
        records, abandoned, elapsed = asyncio.run(run_clients(base, images, args.clients, args.duration))
        peak = peak_rss_mb(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=60)

    statuses = Counter(status for status, _, _ in records)
    ok = [seconds for status, seconds, _ in records if status == 200]
    errors = [r for r in records if not (r[0] == 200 or (r[0] == 503 and r[2]))]
    result = {
        "date": time.strftime("%Y-%m-%d"), "clients": args.clients, "duration_s": round(elapsed, 1),
        "megapixels": args.megapixels, "image_sizes": [Image.open(io.BytesIO(b)).size for b in images],
        "workers": args.workers, "queue": args.queue, "model": args.model, "cpus": os.cpu_count(),
        "requests": len(records), "statuses": dict(sorted(statuses.items())), "abandoned_at_stop": abandoned,
        "colorized_per_s": round(len(ok) / elapsed, 2), "answers_per_s": round(len(records) / elapsed, 2),
        "latency_200_s": {"p50": percentile(ok, 50), "p95": percentile(ok, 95), "max": max(ok, default=None)},
        "latency_all_s": {"p50": percentile([s for _, s, _ in records], 50),
                          "p95": percentile([s for _, s, _ in records], 95)},
        "errors": len(errors), "server_peak_rss_mb": round(peak, 1),
    }
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
