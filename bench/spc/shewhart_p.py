"""The peer: the Python `shewhart` package's p_chart on the benchmark file, timed in-process.

Usage: python shewhart_p.py DATA.csv RULES   (RULES: none or nelson). Prints `read_seconds`,
`chart_seconds` and the centre line, so the run can check both tools agree on it.
"""
import sys
import time

import pandas as pd
import shewhart as sw

path, rules = sys.argv[1], sys.argv[2]
start = time.perf_counter()
data = pd.read_csv(path)
read = time.perf_counter()
result = sw.p_chart(data, defectives="y", size="n", rules=None if rules == "none" else rules)
done = time.perf_counter()
print(f"read_seconds {read - start:.4f}")
print(f"chart_seconds {done - read:.4f}")
print(f"centre {result.stats['p_center']}")
