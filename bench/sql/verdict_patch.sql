-- (c) reference: the statements the server issues for one draft-verdict
-- PATCH, in its order (captured with log_statement = 'all'), one pgbench
-- transaction each (the server sends them in autocommit: no BEGIN or
-- COMMIT). Variables: -D lo/hi (the reference's own draft verdicts),
-- editor (its id), active=true, rating/headline/summary/reason, and the
-- append's inputs (before, after, snapshot, kind, action) from
-- `claimledger-bench pgbench-vars`. The id is built in SQL from the random
-- number (bench/src/synth.rs); the server binds it as a parameter.
\set n random(:lo, :hi)
\set lim 1
-- as_actor: the token's account must still exist and be active
SELECT "editors"."username", "editors"."roles" FROM "editors" WHERE (("editors"."id" = :editor) AND ("editors"."active" = :active)) LIMIT :lim;
-- store::verdicts::update_draft: the row, unlocked, and the time of the edit
SELECT *, statement_timestamp() AS now FROM verdicts WHERE id = ('01900005-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid \gset
\set next :version + 1
-- store::write_one / ledger::append_with: the change, if the row is still
-- the version read, and its revision recorded as pending, in one statement
-- that commits asynchronously (the sequencer's commit is the flushed one).
WITH changed AS (UPDATE verdicts SET rating = :rating, headline = :headline, summary = :summary, evidence_ids = :evidence_ids, version = :next, updated_at = :now WHERE id = :id AND version = :version AND status = 'draft' RETURNING id), pending AS (INSERT INTO pending_revisions (grp, ord, entity_kind, entity_id, entity_version, action, actor_id, reason, before_time, after_time, snapshot) SELECT nextval('pending_groups'), 0, :kind, :id, :next, :action, :editor, :reason, :before::bytea, :after::bytea, :snapshot FROM changed RETURNING grp) SELECT grp, set_config('synchronous_commit', 'off', true) AS async_commit FROM pending;
