-- Writes in batches (issue 19). A writer's transaction changes the
-- projection and records its revisions here, as pending, without touching
-- the head; one sequencer (an advisory lock) takes them in commit order and
-- gives them seq, recorded_at and hashes, a batch per transaction.
--
-- `grp` comes from a sequence drawn by the writer's last statement, after
-- every row lock it takes: a later writer of the same entity waits for the
-- earlier one's commit before it draws, so within an entity grp order is
-- commit order. `ord` orders the revisions of one transaction.
CREATE SEQUENCE pending_groups;

CREATE TABLE pending_revisions (
    grp            bigint NOT NULL,
    ord            integer NOT NULL CHECK (ord >= 0),
    entity_kind    text NOT NULL,
    entity_id      uuid NOT NULL,
    entity_version integer NOT NULL CHECK (entity_version >= 1),
    action         text NOT NULL,
    actor_id       uuid NOT NULL REFERENCES editors (id),
    reason         text,
    -- JCS(entry) split around recorded_at, and JCS(snapshot): canonicalised
    -- by the writer, so the sequencer only joins, hashes and inserts.
    before_time    bytea NOT NULL,
    after_time     bytea NOT NULL,
    snapshot       text NOT NULL,
    PRIMARY KEY (grp, ord)
);

-- What has been derived from the log: public documents, the feed (both
-- below) and the Merkle tree follow the head in the sequencer's own
-- transaction; after an upgrade they catch up from here.
CREATE TABLE log_derived (
    id        boolean PRIMARY KEY DEFAULT true CHECK (id),
    public_seq bigint NOT NULL DEFAULT 0 CHECK (public_seq >= 0)
);
INSERT INTO log_derived (id) VALUES (true);

-- The public fact check of each claim in the public set, derived from the
-- log once per change: a cold read is one indexed lookup.
CREATE TABLE public_factchecks (
    claim_id     uuid PRIMARY KEY,
    -- The log position the fact check reflects (its ETag).
    seq          bigint NOT NULL,
    verdict_id   uuid NOT NULL,
    published_at timestamptz NOT NULL,
    rating       text NOT NULL,
    claimant     text NOT NULL,
    language     text NOT NULL,
    article_ids  uuid[] NOT NULL,
    search       tsvector NOT NULL,
    -- The fact check as served (JSON), and the domain aggregate it was
    -- rendered from (ClaimReview and pages are rendered from it).
    body         text NOT NULL,
    aggregate    jsonb NOT NULL
);
CREATE INDEX public_factchecks_published_idx ON public_factchecks (published_at DESC, claim_id DESC);
CREATE INDEX public_factchecks_search_idx ON public_factchecks USING gin (search);
CREATE INDEX public_factchecks_articles_idx ON public_factchecks USING gin (article_ids);
CREATE INDEX public_factchecks_claimant_idx ON public_factchecks (lower(claimant));

-- The change feed, one row per change to the public set, in log order. A
-- verdict withdrawn later is not served again: its rows are hidden.
CREATE TABLE feed_items (
    seq        bigint PRIMARY KEY,
    claim_id   uuid NOT NULL,
    change     text NOT NULL CHECK (change IN ('published', 'corrected', 'updated', 'withdrawn')),
    verdict_id uuid,
    factcheck  text,
    hidden     boolean NOT NULL DEFAULT false
);
CREATE INDEX feed_items_verdict_idx ON feed_items (verdict_id) WHERE verdict_id IS NOT NULL;

-- Public search now reads the derived documents; the verdicts' copy and
-- the triggers that kept it go (they cost every verdict and claim write).
DROP TRIGGER claims_factcheck_search ON claims;
DROP TRIGGER verdicts_factcheck_search ON verdicts;
DROP FUNCTION claimledger_claim_search();
DROP FUNCTION claimledger_verdict_search();
DROP INDEX verdicts_factcheck_search_idx;
ALTER TABLE verdicts DROP COLUMN factcheck_search;

-- A replayed response names the revision it waits for (its group is gone
-- once sequenced): the last revision the write recorded.
ALTER TABLE idempotency_keys ADD COLUMN log_entity_id uuid, ADD COLUMN log_entity_version integer;
