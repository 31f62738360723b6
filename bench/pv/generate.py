"""Seeded synthetic spontaneous-report database for the `rounds pv signals` benchmark.

Writes `reports.csv` (report_id, drug, event; one row per drug-event pair on a report) and
`truth.json` (the planted drug-event associations). Drug and event popularity are Zipf-like, as in
FAERS; a planted pair makes its event more likely on reports that name its drug.
"""

import argparse
import json
import os

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", required=True, help="output directory")
    parser.add_argument("--reports", type=int, default=1_000_000)
    parser.add_argument("--drugs", type=int, default=2_000)
    parser.add_argument("--events", type=int, default=5_000)
    parser.add_argument("--planted", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261124)
    args = parser.parse_args()

    rng = np.random.default_rng(args.seed)
    drug_w = 1.0 / (np.arange(args.drugs) + 5.0) ** 0.9
    drug_w /= drug_w.sum()
    event_w = 1.0 / (np.arange(args.events) + 10.0) ** 0.8
    event_w /= event_w.sum()

    # Mean 2.8 drugs and 2.9 events per report: about 8.1 drug-event pairs per report.
    n_drugs = 1 + rng.poisson(1.8, args.reports)
    n_events = 1 + rng.poisson(1.9, args.reports)
    drug_ids = rng.choice(args.drugs, size=int(n_drugs.sum()), p=drug_w)
    event_ids = rng.choice(args.events, size=int(n_events.sum()), p=event_w)

    planted_drugs = rng.choice(args.drugs, size=args.planted, replace=False)
    planted_events = rng.choice(args.events, size=args.planted, replace=False)
    planted_prob = rng.uniform(0.02, 0.2, args.planted)
    plant_of_drug = {int(d): i for i, d in enumerate(planted_drugs)}

    # Reports are written in chunks so memory stays small.
    d_off = np.concatenate([[0], np.cumsum(n_drugs)])
    e_off = np.concatenate([[0], np.cumsum(n_events)])
    os.makedirs(args.out, exist_ok=True)
    rows = 0
    with open(os.path.join(args.out, "reports.csv"), "w") as out:
        out.write("report_id,drug,event\n")
        extra_u = rng.random(int(n_drugs.sum()))
        for r in range(args.reports):
            drugs = np.unique(drug_ids[d_off[r]:d_off[r + 1]])
            events = set(event_ids[e_off[r]:e_off[r + 1]].tolist())
            for k in range(d_off[r], d_off[r + 1]):
                i = plant_of_drug.get(int(drug_ids[k]))
                if i is not None and extra_u[k] < planted_prob[i]:
                    events.add(int(planted_events[i]))
            lines = [f"R{r:07d},DRUG{d:04d},EVENT{e:04d}\n" for d in drugs for e in sorted(events)]
            rows += len(lines)
            out.write("".join(lines))

    truth = [
        {"drug": f"DRUG{int(d):04d}", "event": f"EVENT{int(e):04d}", "probability": float(p)}
        for d, e, p in zip(planted_drugs, planted_events, planted_prob)
    ]
    with open(os.path.join(args.out, "truth.json"), "w") as out:
        json.dump({"seed": args.seed, "reports": args.reports, "rows": rows, "planted": truth}, out, indent=1)
    print(f"{args.reports} reports, {rows} drug-event rows -> {args.out}")


if __name__ == "__main__":
    main()
