-- Snapshots are kept as the JSON text they were hashed from (JCS, as the
-- sequencer has it), not as jsonb: reading the log back (verification,
-- as-of reads, exports) no longer pays for PostgreSQL printing each jsonb
-- value again, and appending no longer parses it. Rows from before hold
-- PostgreSQL's printing of their jsonb; verification canonicalises every
-- snapshot from its text, so both kinds verify.
--
-- `claim_id` is what everything hanging off a claim names in its snapshot:
-- an index over the hashed data (history, as-of, derivation and
-- claim_members look claims up by it), given by the sequencer from the
-- snapshot it parses anyway. Here it is derived once for the rows already
-- there (a generated column made plain: an ALTER, not an UPDATE, so the
-- append-only triggers stay as they are).
DROP INDEX revisions_claim_idx;
ALTER TABLE revisions ALTER COLUMN snapshot TYPE text USING snapshot::text;
ALTER TABLE revisions
    ADD COLUMN claim_id uuid GENERATED ALWAYS AS ((snapshot::jsonb ->> 'claim_id')::uuid) STORED;
ALTER TABLE revisions ALTER COLUMN claim_id DROP EXPRESSION;
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
