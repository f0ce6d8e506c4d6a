ALTER TABLE log_derived DROP COLUMN heads_seq;
DROP TABLE entity_heads;
