"""Seeded P-chart data for the SPC benchmark: SUBGROUPS rows of x (1..N), y (defectives), n (size).

Usage: python3 make_data.py OUT.csv [SUBGROUPS]. Standard library only, so the file is the same
wherever it is made.
"""
import math
import random
import sys

out = sys.argv[1]
subgroups = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
rng = random.Random(20261124)
with open(out, "w") as f:
    f.write("x,y,n\n")
    for i in range(1, subgroups + 1):
        n = rng.randint(100, 1000)
        # A stable 10% process with a 2-point shift in the last tenth, so the Anhøj rules have
        # something to find. Normal approximation to the binomial, clipped to [0, n].
        p = 0.10 if i <= subgroups * 0.9 else 0.12
        y = round(n * p + rng.gauss(0.0, 1.0) * math.sqrt(n * p * (1 - p)))
        f.write(f"{i},{min(max(y, 0), n)},{n}\n")
