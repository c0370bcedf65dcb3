-- Vital signs as FHIR Observations (docs/fhir.md): the diastolic pressure
-- beside the systolic, so that a set's blood pressure is the whole panel
-- (LOINC 85354-9 with 8480-6 and 8462-4). NEWS2 does not score it; sets
-- recorded before it was kept, and monitors that do not send it, leave it
-- NULL.
ALTER TABLE care_vitals ADD COLUMN diastolic_bp INTEGER; -- mmHg, below systolic_bp

-- Observation searches by date alone (every patient's vitals in a window)
-- read the sets in time order.
CREATE INDEX care_vitals_taken ON care_vitals (taken_at);
