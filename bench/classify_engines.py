"""The same files through both classification engines on this machine: local (threads) and Ray Data.

    python bench/classify_engines.py                   # 2,000 single-tile files, a fresh `seed` model
    python bench/classify_engines.py --files 500 --repeats 1

prediction.classify with PredictConfig(engine="local") and with engine="ray" (a Ray started here with one CPU per
core; reading tasks and PredictConfig.ray_actors model actors), alternately, several times; medians of files/s by
wall clock. A Ray run includes starting its actors (each imports TensorFlow and loads the model), as every
`classify --engine ray` does; starting Ray itself is timed apart. The two engines' probabilities are compared.
The last line printed is `ray_over_local: <Ray files/s ÷ local files/s>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import common  # noqa: E402
from bench.classify_speed import tile_files  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=2000, help="single-tile files to classify (256×256 px)")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions of each engine")
    parser.add_argument("--actors", type=int, default=1, help="Ray model actors (PredictConfig.ray_actors)")
    args = parser.parse_args(argv)

    import numpy as np
    import ray

    from artcnn.config import PredictConfig
    from artcnn.prediction import classify
    from artcnn.storage import load_model

    model, metadata = load_model(common.benchmark_model("seed", common.OUT / "classify_speed" / "seed_untrained.keras"))
    files = tile_files(common.demo_dataset(common.OUT / "demo", -(-args.files // 20)), args.files)
    print(f"machine: {common.machine()}; load average {os.getloadavg()[0]:.1f} at start")
    started = time.perf_counter()
    ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
    print(f"Ray started here in {time.perf_counter() - started:.1f} s: {ray.cluster_resources().get('CPU')} CPUs")
    configs = {"local": PredictConfig(), "ray": PredictConfig(engine="ray", ray_actors=args.actors)}
    list(classify((model, metadata), files[:2], configs["local"]))  # traced before timing
    rates: dict[str, list[float]] = {name: [] for name in configs}
    outputs: dict[str, list] = {}
    for repeat in range(1, args.repeats + 1):
        for name in ("local", "ray") if repeat % 2 else ("ray", "local"):
            outputs[name], wall, cpu = common.measured(lambda: list(classify((model, metadata), files, configs[name])))
            rates[name].append(len(files) / wall)
            print(f"repeat {repeat} {name:5s}: {len(files)} files in {wall:6.1f} s = {rates[name][-1]:6.1f} files/s "
                  f"(this process: {cpu:6.1f} CPU s)", flush=True)
    difference = max(float(np.abs(np.array(list(a.probabilities.values())) - np.array(list(b.probabilities.values())))
                           .max()) for a, b in zip(outputs["local"], outputs["ray"]))
    same = all(a.file == b.file and a.label == b.label for a, b in zip(outputs["local"], outputs["ray"]))
    medians = {name: common.median(values) for name, values in rates.items()}
    print(f"local median {medians['local']:.1f} files/s; ray ({args.actors} model actor(s)) median "
          f"{medians['ray']:.1f} files/s")
    print(f"same files and labels in the same order: {same}; largest probability difference {difference:.1e}")
    print(f"load average {os.getloadavg()[0]:.1f} at end")
    ray.shutdown()
    print(f"ray_over_local: {medians['ray'] / medians['local']:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
