-- The FHIR Observation search of a patient (src/lab/lookup.c, observations)
-- finds a page in two steps: the keys of all the patient's results, sorted by
-- date and cut to the page, then the page's rows joined to what they show.
-- A result's key is its id, its specimen (whose collection time is the
-- result's date) and its result time: with them in the patient's index, the
-- first step reads the index alone, a few pages for a patient, instead of a
-- row of the table per result. The patient and the specimen first, so that a
-- search for one specimen of the patient reads its results only.
CREATE INDEX results_patient_keys ON results (patient_id, specimen_id, resulted_at, id);
