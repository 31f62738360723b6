-- Pharmacovigilance screening runs and their signal tables. Values are the screen's; a measure
-- that is not finite (e.g. a PRR with no other drug's report of the event) is NULL.

CREATE TABLE pv_runs (
    id INTEGER PRIMARY KEY,
    source TEXT NOT NULL,
    quarters TEXT NOT NULL,
    options TEXT NOT NULL,
    reports INTEGER NOT NULL,
    drugs INTEGER NOT NULL,
    events INTEGER NOT NULL,
    pairs INTEGER NOT NULL,
    prior TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL
);

CREATE TABLE pv_signals (
    run_id INTEGER NOT NULL REFERENCES pv_runs(id) ON DELETE CASCADE,
    drug TEXT NOT NULL,
    event TEXT NOT NULL,
    a INTEGER NOT NULL,
    drug_reports INTEGER NOT NULL,
    event_reports INTEGER NOT NULL,
    n INTEGER NOT NULL,
    expected REAL,
    prr REAL,
    prr_lower REAL,
    prr_upper REAL,
    chi2 REAL,
    ror REAL,
    ror_lower REAL,
    ror_upper REAL,
    ic REAL,
    ic025 REAL,
    ic975 REAL,
    ebgm REAL,
    eb05 REAL,
    eb95 REAL,
    signal_prr INTEGER NOT NULL,
    signal_ror INTEGER NOT NULL,
    signal_ic INTEGER NOT NULL,
    signal_ebgm INTEGER NOT NULL,
    PRIMARY KEY (run_id, drug, event)
);
CREATE INDEX pv_signals_eb05 ON pv_signals(run_id, eb05);
CREATE INDEX pv_signals_pair ON pv_signals(drug, event);
