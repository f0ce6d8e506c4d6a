DROP TABLE feed_items;
DROP TABLE public_factchecks;
DROP TABLE log_derived;
DROP TABLE pending_revisions;
DROP SEQUENCE pending_groups;
ALTER TABLE verdicts ADD COLUMN factcheck_search tsvector NOT NULL DEFAULT ''::tsvector;
ALTER TABLE idempotency_keys DROP COLUMN log_entity_id, DROP COLUMN log_entity_version;
