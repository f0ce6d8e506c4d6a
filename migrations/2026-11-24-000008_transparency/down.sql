DROP TABLE checkpoint_cosignatures;
DROP TABLE checkpoints;
DROP TABLE tlog_tiles;
ALTER TABLE log_derived DROP COLUMN tree_size;
