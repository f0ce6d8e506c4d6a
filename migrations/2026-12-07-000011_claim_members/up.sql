-- Every entity whose snapshot ever named a claim (its appearances, evidence
-- and verdicts, including those a merge moved away since): a claim as of a
-- seq looks up each member's newest revision by key, where it read every
-- version of every member (about four rows for each one it kept). An index
-- over the log, rebuilt from it at will.
CREATE TABLE claim_members (
    claim_id  uuid NOT NULL,
    entity_id uuid NOT NULL,
    PRIMARY KEY (claim_id, entity_id)
);

-- Kept by the database, once per statement that appends revisions: right
-- whichever process (or version of the service) appends them.
CREATE FUNCTION claimledger_add_claim_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO claim_members (claim_id, entity_id)
    SELECT DISTINCT (snapshot ->> 'claim_id')::uuid, entity_id
    FROM appended WHERE snapshot ? 'claim_id'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER revisions_claim_members AFTER INSERT ON revisions
    REFERENCING NEW TABLE AS appended
    FOR EACH STATEMENT EXECUTE FUNCTION claimledger_add_claim_members();

INSERT INTO claim_members (claim_id, entity_id)
SELECT DISTINCT (snapshot ->> 'claim_id')::uuid, entity_id
FROM revisions WHERE snapshot ? 'claim_id';
