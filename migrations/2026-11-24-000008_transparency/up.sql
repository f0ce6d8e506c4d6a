-- The transparency log (issue 14, DESIGN §8): an RFC 6962 Merkle tree over
-- the log (leaf index = seq - 1, leaf data = the revision's entry_hash),
-- stored as C2SP tlog-tiles, and the signed checkpoints of that tree.

-- How many leaves the tree holds: the sequencer integrates each batch in its
-- own transaction; after an upgrade it catches up from here.
ALTER TABLE log_derived ADD COLUMN tree_size bigint NOT NULL DEFAULT 0 CHECK (tree_size >= 0);

-- Hash tiles: up to 256 hashes of tree level 8*level, from index 256*idx.
-- A partial tile grows by appending; a full one never changes.
CREATE TABLE tlog_tiles (
    level  smallint NOT NULL CHECK (level BETWEEN 0 AND 63),
    idx    bigint NOT NULL CHECK (idx >= 0),
    hashes bytea NOT NULL CHECK (octet_length(hashes) BETWEEN 32 AND 8192 AND octet_length(hashes) % 32 = 0),
    PRIMARY KEY (level, idx)
);

-- Every signed checkpoint (C2SP tlog-checkpoint as a signed note), one per
-- tree size; append-only like revisions.
CREATE TABLE checkpoints (
    tree_size bigint PRIMARY KEY CHECK (tree_size >= 0),
    root_hash bytea NOT NULL CHECK (octet_length(root_hash) = 32),
    note      text NOT NULL,
    signed_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER checkpoints_no_update BEFORE UPDATE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION claimledger_refuse_log_change();
CREATE TRIGGER checkpoints_no_delete BEFORE DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION claimledger_refuse_log_change();
CREATE TRIGGER checkpoints_no_truncate BEFORE TRUNCATE ON checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION claimledger_refuse_log_change();

-- Cosignatures witnesses returned for a checkpoint (tlog-cosignature/v1
-- signature lines), at most one per witness key and checkpoint.
CREATE TABLE checkpoint_cosignatures (
    tree_size  bigint NOT NULL REFERENCES checkpoints (tree_size),
    witness    text NOT NULL,
    line       text NOT NULL,
    PRIMARY KEY (tree_size, witness)
);
