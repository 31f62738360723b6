-- Pharmacovigilance screening runs and their signal tables. Values are the screen's; a measure
-- that is not finite (e.g. a PRR with no other drug's report of the event) is NULL.

CREATE TABLE pv_runs (
    id BIGSERIAL PRIMARY KEY,
    source TEXT NOT NULL,
    quarters TEXT NOT NULL,
    options TEXT NOT NULL,
    reports BIGINT NOT NULL,
    drugs BIGINT NOT NULL,
    events BIGINT NOT NULL,
    pairs BIGINT NOT NULL,
    prior TEXT NOT NULL,
    requested_by TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL
);

CREATE TABLE pv_signals (
    run_id BIGINT NOT NULL REFERENCES pv_runs(id) ON DELETE CASCADE,
    drug TEXT NOT NULL,
    event TEXT NOT NULL,
    a BIGINT NOT NULL,
    drug_reports BIGINT NOT NULL,
    event_reports BIGINT NOT NULL,
    n BIGINT NOT NULL,
    expected DOUBLE PRECISION,
    prr DOUBLE PRECISION,
    prr_lower DOUBLE PRECISION,
    prr_upper DOUBLE PRECISION,
    chi2 DOUBLE PRECISION,
    ror DOUBLE PRECISION,
    ror_lower DOUBLE PRECISION,
    ror_upper DOUBLE PRECISION,
    ic DOUBLE PRECISION,
    ic025 DOUBLE PRECISION,
    ic975 DOUBLE PRECISION,
    ebgm DOUBLE PRECISION,
    eb05 DOUBLE PRECISION,
    eb95 DOUBLE PRECISION,
    signal_prr BIGINT NOT NULL,
    signal_ror BIGINT NOT NULL,
    signal_ic BIGINT NOT NULL,
    signal_ebgm BIGINT NOT NULL,
    PRIMARY KEY (run_id, drug, event)
);
CREATE INDEX pv_signals_eb05 ON pv_signals(run_id, eb05);
CREATE INDEX pv_signals_pair ON pv_signals(drug, event);
