-- (c) reference: the statements the server issues for one draft-verdict
-- PATCH, in its order (captured with log_statement = 'all'), as one pgbench
-- transaction. Variables: -D lo/hi (the reference's own draft verdicts),
-- editor (its id), active=true, rating/headline/summary/reason, and the
-- append's inputs (before, after, snapshot, kind, action) from
-- `claimledger-bench pgbench-vars`. The id is built in SQL from the random
-- number (bench/src/synth.rs); the server binds it as a parameter.
\set n random(:lo, :hi)
\set lim 1
-- as_actor: the token's account must still exist and be active
SELECT "editors"."username", "editors"."roles" FROM "editors" WHERE (("editors"."id" = :editor) AND ("editors"."active" = :active)) LIMIT :lim;
BEGIN;
-- store::verdicts::lock
SELECT "verdicts"."id", "verdicts"."version", "verdicts"."claim_id", "verdicts"."rating", "verdicts"."headline", "verdicts"."summary", "verdicts"."evidence_ids", "verdicts"."status", "verdicts"."author_id", "verdicts"."reviewer_id", "verdicts"."published_at", "verdicts"."superseded_at", "verdicts"."withdrawn_at", "verdicts"."created_at", "verdicts"."updated_at" FROM "verdicts" WHERE ("verdicts"."id" = ('01900005-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid) LIMIT :lim FOR UPDATE \gset
\set next :version + 1
-- store::verdicts::update_draft
UPDATE "verdicts" SET "rating" = :rating, "headline" = :headline, "summary" = :summary, "evidence_ids" = :evidence_ids, "version" = :next, "updated_at" = CURRENT_TIMESTAMP WHERE ("verdicts"."id" = :id) RETURNING "verdicts"."id", "verdicts"."version", "verdicts"."claim_id", "verdicts"."rating", "verdicts"."headline", "verdicts"."summary", "verdicts"."evidence_ids", "verdicts"."status", "verdicts"."author_id", "verdicts"."reviewer_id", "verdicts"."published_at", "verdicts"."superseded_at", "verdicts"."withdrawn_at", "verdicts"."created_at", "verdicts"."updated_at";
-- ledger::append (APPEND_SQL, src/ledger/append.rs). Two differences in the
-- text, none in the work: pgbench would read the format's ":MI" and ":SS" as
-- variables, so the colons are chr(58) (constant, folded when prepared); and
-- the hash inputs carry ::bytea, which the server's typed binds say.
WITH head AS (
    SELECT seq, chain_hash, greatest(clock_timestamp(), recorded_at) AS at
    FROM log_head WHERE id FOR UPDATE
), entry AS (
    SELECT seq + 1 AS seq, at, chain_hash AS prev,
           sha256(:before::bytea || convert_to(to_char(at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.US"Z"'), 'UTF8') || :after::bytea) AS entry_hash
    FROM head
), ins AS (
    INSERT INTO revisions (seq, entity_kind, entity_id, entity_version, action, actor_id, reason,
                           recorded_at, snapshot, entry_hash, chain_hash)
    SELECT seq, :kind, :id, :next, :action, :editor, :reason, at, :snapshot::jsonb, entry_hash, sha256(prev || entry_hash)
    FROM entry
    RETURNING seq, recorded_at, entry_hash, chain_hash
)
UPDATE log_head SET seq = ins.seq, chain_hash = ins.chain_hash, recorded_at = ins.recorded_at
FROM ins WHERE log_head.id
RETURNING ins.seq, ins.recorded_at, ins.entry_hash, ins.chain_hash;
COMMIT;
