"""vigipy 3.5 on the benchmark reports, timed method by method (pair margins: vigipy's unit).

Usage: python vigipy_bench.py reports.csv result.json
Writes the timings (wall and CPU seconds), vigipy's fitted GPS prior and its zero-truncated
log-likelihood (the same formula as tools/pv/make_fixtures.py).
"""

import json
import os
import sys
import time

import numpy as np
import pandas as pd
import vigipy

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools", "pv"))
from make_fixtures import truncated_log_likelihood  # noqa: E402


def timed(label, results, fn):
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    results[label] = {"wall_s": time.perf_counter() - wall, "cpu_s": time.process_time() - cpu}
    print(f"vigipy {label}: {results[label]['wall_s']:.2f} s wall, {results[label]['cpu_s']:.2f} s CPU", flush=True)
    return value


def main(path: str, out: str) -> None:
    results = {}
    df = timed("read_csv", results, lambda: pd.read_csv(path, dtype=str))

    def aggregate():
        counts = df.drop_duplicates().groupby(["drug", "event"]).size().rename("count").reset_index()
        return vigipy.convert(counts.rename(columns={"drug": "name", "event": "AE"}), count_label="count")

    container = timed("aggregate", results, aggregate)
    timed("prr", results, lambda: vigipy.prr(container, min_events=1))
    timed("ror", results, lambda: vigipy.ror(container, min_events=1))
    timed("bcpnn", results, lambda: vigipy.bcpnn(container, min_events=1))
    gps = timed("gps", results, lambda: vigipy.gps(container, min_events=1, truncate=True, truncate_thres=1))
    prior = [float(v) for v in gps.params["prior_param"]]
    data = container.data
    n = data["events"].to_numpy(float)
    e = data["product_aes"].to_numpy(float) * data["count_across_brands"].to_numpy(float) / container.N
    results["gps_prior"] = dict(zip(["alpha1", "beta1", "alpha2", "beta2", "p"], prior))
    results["gps_prior"]["log_likelihood"] = truncated_log_likelihood(prior, n, e)
    results["gps_prior"]["convergence"] = str(gps.params.get("convergence"))
    results["pairs"] = int(len(n))
    with open(out, "w") as f:
        json.dump(results, f, indent=1)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
