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
-- store::write (sent with BEGIN in one round trip by the server)
SET LOCAL synchronous_commit = off;
-- store::verdicts::lock
SELECT "verdicts"."id", "verdicts"."version", "verdicts"."claim_id", "verdicts"."rating", "verdicts"."headline", "verdicts"."summary", "verdicts"."evidence_ids", "verdicts"."status", "verdicts"."author_id", "verdicts"."reviewer_id", "verdicts"."published_at", "verdicts"."superseded_at", "verdicts"."withdrawn_at", "verdicts"."created_at", "verdicts"."updated_at" FROM "verdicts" WHERE ("verdicts"."id" = ('01900005-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid) LIMIT :lim FOR UPDATE \gset
\set next :version + 1
-- store::verdicts::update_draft
UPDATE verdicts SET rating = :rating, headline = :headline, summary = :summary, evidence_ids = :evidence_ids, version = :next, updated_at = CURRENT_TIMESTAMP WHERE id = :id RETURNING updated_at;
-- ledger::append: the revision recorded as pending, last (the sequencer
-- gives it its seq after the commit, in a batch).
INSERT INTO pending_revisions (grp, ord, entity_kind, entity_id, entity_version, action, actor_id, reason, before_time, after_time, snapshot)
VALUES (nextval('pending_groups'), 0, :kind, :id, :next, :action, :editor, :reason, :before::bytea, :after::bytea, :snapshot) RETURNING grp;
COMMIT;
