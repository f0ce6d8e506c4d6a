ALTER TABLE public_factchecks DROP COLUMN claimant_id, DROP COLUMN statement;
ALTER TABLE appearances DROP COLUMN kind, DROP COLUMN translated, DROP COLUMN original_language;
ALTER TABLE claims DROP COLUMN claimant_id, DROP COLUMN claimed_on_precision, DROP COLUMN claimed_on_note, DROP COLUMN merged_into;
DROP TABLE claimants;
ALTER TABLE feed_items DROP COLUMN merged_into;
