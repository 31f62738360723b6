-- Clinical store: patients, practitioners, encounters, procedures, conditions, value sets, import
-- history and derived outcomes. Minimum necessary: no patient names, addresses, phone numbers or
-- identifiers other than the source system's own id. Ids of imported records are assigned by the
-- importer under the import lock (so rows can be written in batches); times are RFC 3339 UTC text.

CREATE TABLE import_runs (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    source_system TEXT NOT NULL,
    actor TEXT NOT NULL,
    started_at TEXT NOT NULL,
    finished_at TEXT NOT NULL,
    status TEXT NOT NULL,
    files TEXT NOT NULL,
    counts TEXT NOT NULL,
    problems BIGINT NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT ''
);

CREATE TABLE patients (
    id BIGINT PRIMARY KEY,
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    birth_date TEXT,
    sex TEXT NOT NULL,
    zip3 TEXT,
    death_date TEXT,
    content_hash BIGINT NOT NULL,
    import_run_id BIGINT NOT NULL,
    UNIQUE (source_system, source_id)
);

CREATE TABLE clinical_practitioners (
    id BIGINT PRIMARY KEY,
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    npi TEXT,
    name TEXT NOT NULL DEFAULT '',
    content_hash BIGINT NOT NULL,
    import_run_id BIGINT NOT NULL,
    UNIQUE (source_system, source_id)
);
CREATE INDEX clinical_practitioners_npi ON clinical_practitioners(npi);

-- Organizations, Locations and PractitionerRoles of a source, with what each became in Rounds.
CREATE TABLE clinical_source_refs (
    id BIGSERIAL PRIMARY KEY,
    source_system TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    source_id TEXT NOT NULL,
    facility_id BIGINT REFERENCES facilities(id),
    department_id BIGINT REFERENCES departments(id),
    unit_id BIGINT REFERENCES units(id),
    practitioner_id BIGINT REFERENCES clinical_practitioners(id),
    content_hash BIGINT NOT NULL,
    import_run_id BIGINT NOT NULL,
    UNIQUE (source_system, resource_type, source_id)
);

-- Business identifiers of non-patient resources, for conditional references
-- (`Practitioner?identifier=system|value`). Patient identifiers are never stored.
CREATE TABLE clinical_identifiers (
    source_system TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    system TEXT NOT NULL,
    value TEXT NOT NULL,
    source_id TEXT NOT NULL,
    PRIMARY KEY (source_system, resource_type, system, value)
);

CREATE TABLE encounters (
    id BIGINT PRIMARY KEY,
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    class TEXT NOT NULL,
    facility_id BIGINT REFERENCES facilities(id),
    department_id BIGINT REFERENCES departments(id),
    unit_id BIGINT REFERENCES units(id),
    attending_id BIGINT REFERENCES clinical_practitioners(id),
    admit_at TEXT NOT NULL,
    discharge_at TEXT,
    admit_source TEXT,
    discharge_disposition TEXT,
    ms_drg TEXT,
    principal_dx_system TEXT,
    principal_dx_code TEXT,
    payer TEXT,
    cost_cents BIGINT,
    charges_cents BIGINT,
    content_hash BIGINT NOT NULL,
    import_run_id BIGINT NOT NULL,
    UNIQUE (source_system, source_id)
);
CREATE INDEX encounters_patient ON encounters(patient_id, admit_at);
CREATE INDEX encounters_facility ON encounters(facility_id, admit_at);
CREATE INDEX encounters_attending ON encounters(attending_id, admit_at);
CREATE INDEX encounters_admit ON encounters(admit_at);

CREATE TABLE procedures (
    id BIGINT PRIMARY KEY,
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    encounter_id BIGINT REFERENCES encounters(id),
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    performed_at TEXT,
    practitioner_id BIGINT REFERENCES clinical_practitioners(id),
    content_hash BIGINT NOT NULL,
    import_run_id BIGINT NOT NULL,
    UNIQUE (source_system, source_id)
);
CREATE INDEX procedures_patient ON procedures(patient_id, performed_at);
CREATE INDEX procedures_encounter ON procedures(encounter_id);
CREATE INDEX procedures_practitioner ON procedures(practitioner_id, performed_at);

CREATE TABLE conditions (
    id BIGINT PRIMARY KEY,
    source_system TEXT NOT NULL,
    source_id TEXT NOT NULL,
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    encounter_id BIGINT REFERENCES encounters(id),
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    present_on_admission TEXT,
    rank BIGINT,
    onset_at TEXT,
    content_hash BIGINT NOT NULL,
    import_run_id BIGINT NOT NULL,
    UNIQUE (source_system, source_id)
);
CREATE INDEX conditions_patient ON conditions(patient_id);
CREATE INDEX conditions_encounter ON conditions(encounter_id);

CREATE TABLE value_sets (
    name TEXT NOT NULL,
    code_system TEXT NOT NULL,
    code TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (name, code_system, code)
);

-- Patients whose outcomes must be recomputed (filled during an import, emptied at its end).
CREATE TABLE clinical_stale_patients (
    patient_id BIGINT PRIMARY KEY
);

CREATE TABLE encounter_outcomes (
    encounter_id BIGINT PRIMARY KEY REFERENCES encounters(id),
    patient_id BIGINT NOT NULL REFERENCES patients(id),
    los_days BIGINT,
    los_hours BIGINT,
    in_hospital_death BIGINT NOT NULL,
    readmission_index BIGINT NOT NULL,
    readmitted_30 BIGINT,
    readmission_encounter_id BIGINT,
    or_procedure BIGINT,
    return_to_or_30 BIGINT,
    complications BIGINT NOT NULL
);
CREATE INDEX encounter_outcomes_patient ON encounter_outcomes(patient_id);

CREATE TABLE encounter_complications (
    encounter_id BIGINT NOT NULL REFERENCES encounters(id),
    value_set TEXT NOT NULL,
    condition_id BIGINT NOT NULL REFERENCES conditions(id),
    PRIMARY KEY (encounter_id, value_set, condition_id)
);
