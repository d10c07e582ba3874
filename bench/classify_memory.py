"""Memory while classifying a large collection from the command line: peak RSS must stay under 2 GB.

    python bench/classify_memory.py                 # 10,000 generated artworks (made once in bench/out/)
    python bench/classify_memory.py --count 500     # a quicker look

Writes a collection of synthetic artworks of mixed sizes and formats (mostly small, some large, a
few broken files), then runs `python -m artcnn classify MODEL DIR --out results.csv` in a
subprocess and reads its peak resident memory from the kernel (getrusage of the finished child),
sampling it from /proc while it runs to show whether it grows with the number of files read.
Classification streams: files are read by a pool of threads at most PredictConfig.read_ahead files ahead
and results written as they come, so memory should not grow with the number of files. The CSV must have one row per file, broken ones included.
The last line printed is `classify_peak_rss_mb: <value>`.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402

LIMIT_MB = 2048
# Long sides of the generated artworks, cycled: small, so that 10,000 take minutes...
LONG_SIDES = (64, 128, 200, 256, 300, 360, 420, 512)
# ...with a large one (JPEG) every LARGE_EVERY files, so that memory held per pixel would show.
LARGE_EVERY, LARGE_SIDE = 500, 3000
# Every this many files one is broken (truncated), to check that errors become rows, not crashes.
BROKEN_EVERY = 1000


def make_collection(folder: Path, count: int, seed: int = 0) -> list[Path]:
    """`count` artwork files of mixed sizes, aspect ratios and formats (made once, then reused).

    Blocky random colour fields: cheap to make at any size, and never blank, so every file gives tiles.
    """
    import numpy as np
    from PIL import Image

    if count < 1:
        raise ValueError(f"count must be at least 1. Received: count={count}")
    folder = Path(folder)
    files = []
    for index in range(count):
        large = index % LARGE_EVERY == LARGE_EVERY // 2
        suffix = ".jpg" if large else (".jpg", ".png", ".webp")[index % 3]
        # Sub-folders of 1000 keep directory listings quick and exercise the recursive search.
        path = folder / f"part{index // 1000:02d}" / f"artwork_{index:05d}{suffix}"
        files.append(path)
        if path.is_file():
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([seed, index])
        long_side = LARGE_SIDE if large else LONG_SIDES[index % len(LONG_SIDES)]
        short_side = max(16, int(long_side * rng.uniform(0.5, 1.0)))
        width, height = (long_side, short_side) if index % 2 else (short_side, long_side)
        blocks = rng.integers(0, 256, (max(2, height // 16), max(2, width // 16), 3), dtype=np.uint8)
        image = Image.fromarray(blocks).resize((width, height), Image.BILINEAR)
        partial = path.with_name(f".{path.name}")
        image.save(partial, format={".jpg": "JPEG", ".png": "PNG", ".webp": "WEBP"}[suffix])
        if index % BROKEN_EVERY == BROKEN_EVERY - 1:
            data = partial.read_bytes()
            partial.write_bytes(data[: len(data) // 3])
        partial.replace(path)
    return files


def _rss_mb(pid: int) -> float | None:
    """Resident memory of a running process from /proc (None once it has gone, or off Linux)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return None


def classify_in_subprocess(model: Path, folder: Path, out_csv: Path, poll_seconds: float = 0.5) -> dict:
    """Run the CLI on `folder`: wall time, peak RSS in MB (from the kernel once it has ended), exit code,
    and its RSS sampled from /proc while it ran, to show whether memory grows with the files read."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    samples: list[tuple[float, float]] = []
    with subprocess.Popen([sys.executable, "-m", "artcnn", "classify", str(model), str(folder), "--out",
                           str(out_csv)], cwd=common.ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"}) as child:
        while child.poll() is None:
            rss = _rss_mb(child.pid)
            if rss is not None:
                samples.append((time.perf_counter() - started, rss))
            time.sleep(poll_seconds)
        stdout, stderr = child.communicate()
    seconds = time.perf_counter() - started
    # ru_maxrss is in KiB on Linux: the largest resident set of any waited-for child so far.
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if child.returncode != 0:
        raise RuntimeError(f"artcnn classify failed (exit {child.returncode}): {stderr[-2000:]}")
    if peak_kib <= before:
        # An earlier, larger child would hide this one's peak; the figure would be wrong, not just high.
        raise RuntimeError("peak RSS not measurable: an earlier child process used more memory.")
    return {"seconds": seconds, "peak_rss_mb": peak_kib / 1024, "stdout": stdout.strip(), "samples": samples}


def rss_by_quarter(samples: list[tuple[float, float]], seconds: float) -> list[float]:
    """Highest sampled RSS (MB) in each quarter of the run; flat when memory does not grow with files read."""
    quarters = [[rss for at, rss in samples if index * seconds / 4 <= at < (index + 1) * seconds / 4]
                for index in range(4)]
    return [max(values) if values else float("nan") for values in quarters]


def count_rows(out_csv: Path) -> tuple[int, int]:
    """Rows of the results CSV, and how many of them carry an error."""
    with open(out_csv, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return len(rows), sum(1 for row in rows if row.get("error"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=10_000, help="artworks to generate and classify")
    parser.add_argument("--model", type=Path, help="a saved .keras/.h5 model; default: a fresh `default` model")
    args = parser.parse_args(argv)

    out = common.OUT / "classify_memory"
    model = args.model or common.benchmark_model("default", out / "default_untrained.keras")
    folder = out / f"collection_{args.count}"
    started = time.perf_counter()
    files = make_collection(folder, args.count)
    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f} at start")
    print(f"collection: {len(files)} files in {folder} (long sides {min(LONG_SIDES)}-{max(LONG_SIDES)} px and "
          f"{LARGE_SIDE} px for 1 in {LARGE_EVERY}; jpg/png/webp; {len(files) // BROKEN_EVERY} truncated), "
          f"ready in {time.perf_counter() - started:.0f} s")
    result = classify_in_subprocess(model, folder, out / "results.csv")
    rows, errors = count_rows(out / "results.csv")
    print(f"cli: {result['stdout']}")
    print(f"classified {rows} rows ({errors} with an error) for {len(files)} files in {result['seconds']:.0f} s "
          f"= {len(files) / result['seconds']:.1f} artworks/s")
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    quarters = rss_by_quarter(result["samples"], result["seconds"])
    print(f"highest RSS in each quarter of the run: {', '.join(f'{value:.0f}' for value in quarters)} MB")
    print(f"rows == files: {rows == len(files)}; peak RSS {result['peak_rss_mb']:.0f} MB "
          f"({'under' if result['peak_rss_mb'] < LIMIT_MB else 'OVER'} the {LIMIT_MB} MB limit)")
    print(f"classify_peak_rss_mb: {result['peak_rss_mb']:.0f}")
    return 0 if rows == len(files) and result["peak_rss_mb"] < LIMIT_MB else 1


if __name__ == "__main__":
    sys.exit(main())
