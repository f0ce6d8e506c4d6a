CREATE OR REPLACE FUNCTION claimledger_add_claim_members() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO claim_members (claim_id, entity_id)
    SELECT DISTINCT (snapshot ->> 'claim_id')::uuid, entity_id
    FROM appended WHERE snapshot ? 'claim_id'
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
DROP INDEX revisions_claim_idx;
ALTER TABLE revisions DROP COLUMN claim_id;
ALTER TABLE revisions ALTER COLUMN snapshot TYPE jsonb USING snapshot::jsonb;
CREATE INDEX revisions_claim_idx ON revisions ((snapshot ->> 'claim_id'), seq)
    WHERE snapshot ? 'claim_id';
