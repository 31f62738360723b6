"""Parity fixtures for `crates/stats` disproportionality (tests in crates/stats/tests/parity/pv.rs).

Run: python -m venv venv && venv/bin/pip install -r tools/pv/requirements.txt
     venv/bin/python tools/pv/make_fixtures.py crates/stats/tests/fixtures/pv

Writes, from a seeded synthetic report set:
  reports.csv    report_id, drug, event (the input; one duplicated row on purpose)
  pairs.csv      per pair, with pair margins: vigipy 3.5 PRR/ROR/BCPNN IC025, the exact-moment IC
                 and IC975 by vigipy's formula, scipy's chi-square with and without Yates, Norén's
                 shrinkage IC from scipy gamma quantiles, and the report-unit margins from pandas
  mgps.csv       per pair, EBGM/EB05/EB95 under two given priors, by a direct scipy evaluation of
                 DuMouchel's formulas (independent of vigipy)
  mgps.json      the priors used, vigipy's fitted prior and a multi-start scipy fit, each with its
                 zero-truncated log-likelihood evaluated here
"""

import json
import os
import sys

import numpy as np
import pandas as pd
import scipy
import vigipy
from scipy import optimize, special, stats

Z975 = 1.959963984540054


def synthetic_reports(seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    drugs, events, reports = 30, 45, 1000
    dw = 1.0 / (np.arange(drugs) + 2.0)
    dw /= dw.sum()
    ew = 1.0 / (np.arange(events) + 3.0) ** 0.8
    # Each drug tilts the event profile (log-normal), so relative rates are over-dispersed and
    # the two-gamma prior has something to fit; a dozen planted pairs add strong signals.
    tilt = ew * rng.lognormal(0.0, 0.8, (drugs, events))
    tilt /= tilt.sum(axis=1, keepdims=True)
    planted = [(int(d), int(e), float(p)) for d, e, p in zip(rng.choice(drugs, 12), rng.choice(events, 12), rng.uniform(0.05, 0.6, 12))]
    rows = []
    for r in range(reports):
        ds = np.unique(rng.choice(drugs, 1 + rng.poisson(0.8), p=dw))
        es = set(rng.choice(events, 1 + rng.poisson(1.0), p=tilt[ds[0]]).tolist())
        for d, e, p in planted:
            if d in ds and rng.random() < p:
                es.add(e)
        rows += [(f"R{r:05d}", f"DRUG{d:02d}", f"EVENT{e:02d}") for d in ds for e in sorted(es)]
    rows.append(rows[5])  # a repeated row must count once
    return pd.DataFrame(rows, columns=["report_id", "drug", "event"])


def log_nb(n, e, alpha, beta):
    return (special.gammaln(alpha + n) - special.gammaln(alpha) - special.gammaln(n + 1)
            + alpha * np.log(beta / (beta + e)) + n * np.log(e / (beta + e)))


def truncated_log_likelihood(prior, n, e, n_star=1):
    a1, b1, a2, b2, p = prior
    mix = np.logaddexp(np.log(p) + log_nb(n, e, a1, b1), np.log1p(-p) + log_nb(n, e, a2, b2))
    below = sum(p * np.exp(log_nb(j, e, a1, b1)) + (1 - p) * np.exp(log_nb(j, e, a2, b2)) for j in range(n_star))
    return float(np.sum(mix - np.log1p(-below)))


def scipy_fit(n, e, starts):
    """Multi-start maximum likelihood on (log a1, log b1, log a2, log b2, logit p)."""
    def neg(theta):
        prior = [np.exp(theta[0]), np.exp(theta[1]), np.exp(theta[2]), np.exp(theta[3]), special.expit(theta[4])]
        v = -truncated_log_likelihood(prior, n, e)
        return v if np.isfinite(v) else 1e300
    best = None
    for s in starts:
        x0 = [np.log(s[0]), np.log(s[1]), np.log(s[2]), np.log(s[3]), special.logit(s[4])]
        r = optimize.minimize(neg, x0, method="Nelder-Mead", options={"maxiter": 20000, "maxfev": 20000, "xatol": 1e-10, "fatol": 1e-12})
        r = optimize.minimize(neg, r.x, method="BFGS")
        if best is None or r.fun < best.fun:
            best = r
    t = best.x
    return [float(np.exp(t[0])), float(np.exp(t[1])), float(np.exp(t[2])), float(np.exp(t[3])), float(special.expit(t[4]))]


def eb_direct(prior, n, e):
    """DuMouchel (1999): posterior weight Q, EBGM = exp E[ln lambda], EB05/EB95 by brentq."""
    a1, b1, a2, b2, p = prior
    l1 = np.log(p) + log_nb(n, e, a1, b1)
    l2 = np.log1p(-p) + log_nb(n, e, a2, b2)
    q = 1.0 / (1.0 + np.exp(l2 - l1))
    ebgm = np.exp(q * (special.digamma(a1 + n) - np.log(b1 + e)) + (1 - q) * (special.digamma(a2 + n) - np.log(b2 + e)))

    def quantile(prob):
        f = lambda x: q * special.gdtr(b1 + e, a1 + n, x) + (1 - q) * special.gdtr(b2 + e, a2 + n, x) - prob
        hi = 1.0
        while f(hi) < 0:
            hi *= 2
        return optimize.brentq(f, 0.0, hi, xtol=1e-300, rtol=4 * np.finfo(float).eps, maxiter=1000)

    return q, ebgm, quantile(0.05), quantile(0.95)


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    df = synthetic_reports()
    df.to_csv(os.path.join(out, "reports.csv"), index=False)
    uniq = df.drop_duplicates()

    # Pair margins, as vigipy's contingency table.
    counts = uniq.groupby(["drug", "event"]).size().rename("count").reset_index()
    container = vigipy.convert(counts.rename(columns={"drug": "name", "event": "AE"}), count_label="count")
    N = int(container.N)
    prr = vigipy.prr(container, min_events=1).all_signals.set_index(["Product", "Adverse Event"])
    ror = vigipy.ror(container, min_events=1).all_signals.set_index(["Product", "Adverse Event"])
    bc = vigipy.bcpnn(container, min_events=1).all_signals.set_index(["Product", "Adverse Event"])

    drug_m = counts.groupby("drug")["count"].sum()
    event_m = counts.groupby("event")["count"].sum()
    drug_r = uniq[["report_id", "drug"]].drop_duplicates().groupby("drug").size()
    event_r = uniq[["report_id", "event"]].drop_duplicates().groupby("event").size()
    n_reports = uniq["report_id"].nunique()

    rows = []
    for rec in counts.itertuples(index=False):
        key = (rec.drug, rec.event)
        a, m_d, m_e = rec.count, int(drug_m[rec.drug]), int(event_m[rec.event])
        b, c = m_d - a, m_e - a
        d = N - a - b - c
        table = np.array([[a, b], [c, d]])
        chi2 = stats.chi2_contingency(table, correction=False)[0] if min(m_d, m_e, N - m_d, N - m_e) > 0 else 0.0
        chi2_y = stats.chi2_contingency(table, correction=True)[0] if min(m_d, m_e, N - m_d, N - m_e) > 0 else 0.0
        e = m_d * m_e / N
        # vigipy's exact-moment IC (BCPNN.py), whose IC025 vigipy reports as `quantile`.
        p1, p2, q1, q2, r1 = 1 + m_d, 1 + N - m_d, 1 + m_e, 1 + N - m_e, 1 + a
        r2b = N - a - 1 + (2 + N) ** 2 / (q1 * p1)
        ic = (special.digamma(r1) - special.digamma(r1 + r2b) - (special.digamma(p1) - special.digamma(p1 + p2) + special.digamma(q1) - special.digamma(q1 + q2))) / np.log(2)
        var = (special.polygamma(1, r1) - special.polygamma(1, r1 + r2b) + special.polygamma(1, p1) - special.polygamma(1, p1 + p2) + special.polygamma(1, q1) - special.polygamma(1, q1 + q2)) / np.log(2) ** 2
        rows.append({
            "drug": rec.drug, "event": rec.event, "a": a, "drug_margin": m_d, "event_margin": m_e, "n": N,
            "expected": e,
            "prr": prr.loc[key, "PRR"], "prr_lower": prr.loc[key, "CI Lower"], "prr_upper": prr.loc[key, "CI Upper"],
            "ror": ror.loc[key, "ROR"], "ror_lower": ror.loc[key, "CI Lower"], "ror_upper": ror.loc[key, "CI Upper"],
            "bcpnn_ic025_vigipy": bc.loc[key, "quantile"],
            "bcpnn_ic": ic, "bcpnn_ic975": ic + Z975 * np.sqrt(var),
            "chi2": chi2, "chi2_yates": chi2_y,
            "ic": np.log2((a + 0.5) / (e + 0.5)),
            "ic025": np.log2(stats.gamma.ppf(0.025, a + 0.5, scale=1 / (e + 0.5))),
            "ic975": np.log2(stats.gamma.ppf(0.975, a + 0.5, scale=1 / (e + 0.5))),
            "drug_reports": int(drug_r[rec.drug]), "event_reports": int(event_r[rec.event]), "n_reports": n_reports,
        })
    pairs = pd.DataFrame(rows)
    pairs.to_csv(os.path.join(out, "pairs.csv"), index=False, float_format="%.17g")

    # MGPS: vigipy's own fit, a multi-start scipy fit, and a direct evaluation under given priors.
    n = pairs["a"].to_numpy(float)
    e = pairs["expected"].to_numpy(float)
    gps = vigipy.gps(container, min_events=1, truncate=True, truncate_thres=1)
    vig_prior = [float(v) for v in gps.params["prior_param"]]
    starts = [[0.2041, 0.05816, 1.415, 1.838, 0.0969], [0.2, 0.1, 2, 4, 1 / 3], [0.5, 0.5, 5, 5, 0.5], [2, 2, 0.5, 0.2, 0.8]]
    sp_prior = scipy_fit(n, e, starts)
    given = {"dumouchel": [0.2041, 0.05816, 1.415, 1.838, 0.0969], "scipy_fit": sp_prior}
    mg = []
    for rec in pairs.itertuples(index=False):
        row = {"drug": rec.drug, "event": rec.event, "a": rec.a, "expected": rec.expected}
        for name, prior in given.items():
            q, ebgm, eb05, eb95 = eb_direct(prior, rec.a, rec.expected)
            row.update({f"{name}_q": q, f"{name}_ebgm": ebgm, f"{name}_eb05": eb05, f"{name}_eb95": eb95})
        mg.append(row)
    pd.DataFrame(mg).to_csv(os.path.join(out, "mgps.csv"), index=False, float_format="%.17g")

    def named(prior):
        return dict(zip(["alpha1", "beta1", "alpha2", "beta2", "p"], prior))

    meta = {
        "n_star": 1,
        "pairs": len(n),
        "vigipy": {**named(vig_prior), "log_likelihood": truncated_log_likelihood(vig_prior, n, e)},
        "scipy_multistart": {**named(sp_prior), "log_likelihood": truncated_log_likelihood(sp_prior, n, e)},
        "dumouchel": {**named(given["dumouchel"]), "log_likelihood": truncated_log_likelihood(given["dumouchel"], n, e)},
        "versions": {"vigipy": vigipy.__version__, "numpy": np.__version__, "scipy": scipy.__version__, "pandas": pd.__version__},
    }
    with open(os.path.join(out, "mgps.json"), "w") as f:
        json.dump(meta, f, indent=1)
    print(json.dumps(meta, indent=1))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "crates/stats/tests/fixtures/pv")
