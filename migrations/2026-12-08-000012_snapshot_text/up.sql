-- Snapshots are kept as the JSON text they were hashed from (JCS, as the
-- sequencer has it), not as jsonb: reading the log back (verification,
-- as-of reads, exports) no longer pays for PostgreSQL printing each jsonb
-- value again, and appending no longer parses it. Rows from before hold
-- PostgreSQL's printing of their jsonb; verification canonicalises every
-- snapshot from its text, so both kinds verify.
--
-- `claim_id` (what everything hanging off a claim names) is derived from
-- the snapshot by the database itself, so the lookups over the hashed data
-- (history, as-of, derivation, claim_members) cannot disagree with it.
-- An ALTER is not an UPDATE: the append-only triggers stay as they are.
DROP INDEX revisions_claim_idx;
ALTER TABLE revisions ALTER COLUMN snapshot TYPE text USING snapshot::text;
ALTER TABLE revisions
    ADD COLUMN claim_id uuid GENERATED ALWAYS AS ((snapshot::jsonb ->> 'claim_id')::uuid) STORED;
CREATE INDEX revisions_claim_idx ON revisions (claim_id, seq) WHERE claim_id IS NOT NULL;

CREATE OR REPLACE FUNCTION claimledger_add_claim_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO claim_members (claim_id, entity_id)
    SELECT DISTINCT claim_id, entity_id
    FROM appended WHERE claim_id IS NOT NULL
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
