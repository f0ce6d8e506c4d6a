-- Every entity whose snapshot ever named a claim (its appearances, evidence
-- and verdicts, including those a merge moved away since), kept by the
-- sequencer in the statement that appends their revisions: a claim as of a
-- seq looks up each member's newest revision by key, where it read every
-- version of every member (about four rows for each one it kept). An index
-- over the log, rebuilt from it at will.
CREATE TABLE claim_members (
    claim_id  uuid NOT NULL,
    entity_id uuid NOT NULL,
    PRIMARY KEY (claim_id, entity_id)
);

INSERT INTO claim_members (claim_id, entity_id)
SELECT DISTINCT (snapshot ->> 'claim_id')::uuid, entity_id
FROM revisions WHERE snapshot ? 'claim_id';
