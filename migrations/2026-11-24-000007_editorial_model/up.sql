-- The editorial model (issue 18): claimants are records, appearances say
-- what kind they are, dates carry their caveat, duplicates can be merged,
-- and claims can be matched by similarity.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE claimants (
    id          uuid PRIMARY KEY,
    version     integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 300),
    kind        text NOT NULL CHECK (kind IN ('person', 'organization')),
    role        text CHECK (length(role) BETWEEN 1 AND 300),
    same_as     text[] NOT NULL DEFAULT '{}',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
-- A name names one record (claims may give the claimant by name).
CREATE UNIQUE INDEX claimants_name_idx ON claimants (lower(name));

-- Claims written before this migration have no claimant record yet; the
-- service records one for each, through the log, when it starts.
ALTER TABLE claims
    ADD COLUMN claimant_id uuid REFERENCES claimants (id),
    ADD COLUMN claimed_on_precision text NOT NULL DEFAULT 'unknown'
        CHECK (claimed_on_precision IN ('day', 'month', 'year', 'unknown')),
    ADD COLUMN claimed_on_note text CHECK (length(claimed_on_note) BETWEEN 1 AND 500),
    ADD COLUMN merged_into uuid REFERENCES claims (id),
    ADD CONSTRAINT claims_merged_is_retired CHECK (merged_into IS NULL OR status = 'retired'),
    ADD CONSTRAINT claims_not_merged_into_itself CHECK (merged_into IS DISTINCT FROM id);
UPDATE claims SET claimed_on_precision = 'day' WHERE claimed_on IS NOT NULL;
CREATE INDEX claims_claimant_id_idx ON claims (claimant_id);
-- Claim matching: trigram similarity of statements.
CREATE INDEX claims_statement_trgm_idx ON claims USING gin (lower(statement) gin_trgm_ops);

ALTER TABLE appearances
    ADD COLUMN kind text NOT NULL DEFAULT 'paraphrase' CHECK (kind IN ('direct_quote', 'paraphrase', 'report')),
    ADD COLUMN translated boolean NOT NULL DEFAULT false,
    ADD COLUMN original_language text CHECK (length(original_language) BETWEEN 2 AND 35),
    ADD CONSTRAINT appearances_original_language_if_translated CHECK (original_language IS NULL OR translated);

-- Revisions of claimant records.
ALTER TABLE revisions DROP CONSTRAINT revisions_entity_kind_check;
ALTER TABLE revisions ADD CONSTRAINT revisions_entity_kind_check
    CHECK (entity_kind IN ('editor', 'article', 'claimant', 'claim', 'appearance', 'evidence', 'verdict', 'webhook'));

-- The public document knows its claimant, so an edit of the record
-- refreshes every fact check that shows it; and public matching ranks by
-- trigram similarity too.
ALTER TABLE public_factchecks ADD COLUMN claimant_id uuid, ADD COLUMN statement text NOT NULL DEFAULT '';
CREATE INDEX public_factchecks_claimant_id_idx ON public_factchecks (claimant_id);
CREATE INDEX public_factchecks_statement_trgm_idx ON public_factchecks USING gin (lower(statement) gin_trgm_ops);

-- A merged claim's public fact check points at the survivor: its
-- `withdrawn` feed item says where it went.
ALTER TABLE feed_items ADD COLUMN merged_into uuid;
CREATE INDEX feed_items_claim_idx ON feed_items (claim_id, seq);
