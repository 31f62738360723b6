-- An encounter's principal diagnosis is derived from its conditions (the first of rank 1), like
-- the other per-encounter outcomes, so it is kept with them and recomputed with them: an import
-- no longer rewrites every encounter row to set it after the conditions are written.
ALTER TABLE encounter_outcomes ADD COLUMN principal_dx_system TEXT;
ALTER TABLE encounter_outcomes ADD COLUMN principal_dx_code TEXT;
UPDATE encounter_outcomes SET
    principal_dx_system = (SELECT e.principal_dx_system FROM encounters e WHERE e.id = encounter_outcomes.encounter_id),
    principal_dx_code = (SELECT e.principal_dx_code FROM encounters e WHERE e.id = encounter_outcomes.encounter_id);
ALTER TABLE encounters DROP COLUMN principal_dx_system;
ALTER TABLE encounters DROP COLUMN principal_dx_code;
