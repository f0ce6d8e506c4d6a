-- Each entity's newest revision, kept by the sequencer in each batch's
-- transaction: deriving the public set after a batch reads one revision per
-- family member here, where it read every version of every member (a bulk
-- import slowed down as the log grew). An index over the log, rebuilt from
-- it at will; `claim_id` is the newest snapshot's, as text like
-- revisions_claim_idx.
CREATE TABLE entity_heads (
    entity_id uuid PRIMARY KEY,
    seq       bigint NOT NULL,
    claim_id  text
);
CREATE INDEX entity_heads_claim_idx ON entity_heads (claim_id) WHERE claim_id IS NOT NULL;

-- The seq the heads are current at: derivation uses them only for the state
-- just before a batch (heads_seq = the batch's first seq - 1).
ALTER TABLE log_derived ADD COLUMN heads_seq bigint NOT NULL DEFAULT 0 CHECK (heads_seq >= 0);

INSERT INTO entity_heads (entity_id, seq, claim_id)
SELECT DISTINCT ON (entity_id) entity_id, seq, snapshot ->> 'claim_id'
FROM revisions ORDER BY entity_id, seq DESC;
UPDATE log_derived SET heads_seq = (SELECT coalesce(max(seq), 0) FROM revisions);
