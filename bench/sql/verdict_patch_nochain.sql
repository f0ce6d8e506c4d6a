-- (c) reference without the chain: verdict_patch.sql minus the ledger
-- append, i.e. what the same edit would cost with no log. Same variables.
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
COMMIT;
