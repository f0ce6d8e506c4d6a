-- (a) reference: GET /v1/factchecks/{id}'s statements (captured with
-- log_statement = 'all'): one read-only REPEATABLE READ transaction loading
-- the claim, its published verdict, appearances, articles, cited evidence,
-- superseded verdicts (and their reasons when there are any) and the log
-- position. The claim id array the server binds is built in SQL from the
-- random number. -D published (claims 1..published have one), st_* / act_*.
\set n random(1, :published)
BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY;
-- store::factchecks::load, statement by statement. Where the server reads
-- a result to build the next statement's array parameter, pgbench (one row
-- per \gset) gets it from the same statement wrapped in
-- SELECT array_agg(...) FROM (<statement>) s: the same rows are found, fewer
-- bytes cross the wire (the reference is, if anything, flattered).
SELECT "claims"."id", "claims"."version", "claims"."statement", "claims"."claimant", "claims"."claimed_on", "claims"."language", "claims"."tags", "claims"."status", "claims"."created_at", "claims"."updated_at" FROM "claims" WHERE (("claims"."id" = ANY(ARRAY[('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid])) AND ("claims"."status" = :st_active));
SELECT array_agg(DISTINCT s.id) AS vids, array_agg(s.ev) FILTER (WHERE s.ev IS NOT NULL) AS evs,
       array_agg(s.shown) AS se1, array_agg(s.claim_id) AS sc1
FROM (SELECT v.*, x.shown, x.ev FROM (SELECT "verdicts"."id", "verdicts"."version", "verdicts"."claim_id", "verdicts"."rating", "verdicts"."headline", "verdicts"."summary", "verdicts"."evidence_ids", "verdicts"."status", "verdicts"."author_id", "verdicts"."reviewer_id", "verdicts"."published_at", "verdicts"."superseded_at", "verdicts"."withdrawn_at", "verdicts"."created_at", "verdicts"."updated_at" FROM "verdicts" WHERE (("verdicts"."claim_id" = ANY(ARRAY[('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid])) AND ("verdicts"."status" = :st_published))) v
      CROSS JOIN LATERAL (SELECT u.shown, CASE WHEN u.k > 2 THEN u.shown END AS ev
                          FROM unnest(ARRAY[v.claim_id, v.id] || v.evidence_ids) WITH ORDINALITY AS u (shown, k)) x) s \gset
SELECT array_agg(DISTINCT s.article_id) AS arts, array_agg(x.shown) AS se2, array_agg(s.claim_id) AS sc2
FROM (SELECT "appearances"."id", "appearances"."version", "appearances"."claim_id", "appearances"."article_id", "appearances"."exact", "appearances"."prefix", "appearances"."suffix", "appearances"."start_pos", "appearances"."end_pos", "appearances"."status", "appearances"."created_at", "appearances"."updated_at" FROM "appearances" WHERE (("appearances"."claim_id" = ANY(ARRAY[('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid])) AND ("appearances"."status" = :st_active)) ORDER BY "appearances"."id" ASC) s
     CROSS JOIN LATERAL unnest(ARRAY[s.id, s.article_id]) AS x (shown) \gset
SELECT "articles"."id", "articles"."title", "articles"."publisher", "articles"."url", "articles"."published_on" FROM "articles" WHERE ("articles"."id" = ANY(:arts));
SELECT "evidence"."id", "evidence"."version", "evidence"."claim_id", "evidence"."stance", "evidence"."summary", "evidence"."article_id", "evidence"."exact", "evidence"."prefix", "evidence"."suffix", "evidence"."start_pos", "evidence"."end_pos", "evidence"."url", "evidence"."title", "evidence"."status", "evidence"."created_at", "evidence"."updated_at" FROM "evidence" WHERE ("evidence"."id" = ANY(:evs));
SELECT count(*) AS nsup, coalesce(array_agg(s.id), '{}') AS sids
FROM (SELECT "verdicts"."id", "verdicts"."version", "verdicts"."claim_id", "verdicts"."rating", "verdicts"."headline", "verdicts"."summary", "verdicts"."evidence_ids", "verdicts"."status", "verdicts"."author_id", "verdicts"."reviewer_id", "verdicts"."published_at", "verdicts"."superseded_at", "verdicts"."withdrawn_at", "verdicts"."created_at", "verdicts"."updated_at" FROM "verdicts" WHERE (("verdicts"."claim_id" = ANY(ARRAY[('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid])) AND ("verdicts"."status" = :st_superseded)) ORDER BY "verdicts"."published_at" ASC, "verdicts"."id" ASC) s \gset
\if :nsup
SELECT "revisions"."entity_id", "revisions"."reason" FROM "revisions" WHERE (("revisions"."entity_id" = ANY(:sids)) AND ("revisions"."action" = :act_supersede));
\endif
SELECT DISTINCT ON (shown.claim_id) shown.claim_id, newest.seq, newest.chain_hash FROM unnest(:se1::uuid[] || :se2::uuid[], :sc1::uuid[] || :sc2::uuid[]) AS shown (entity_id, claim_id) CROSS JOIN LATERAL ( SELECT r.seq, r.chain_hash FROM revisions r WHERE r.entity_id = shown.entity_id ORDER BY r.seq DESC LIMIT 1 ) newest ORDER BY shown.claim_id, newest.seq DESC;
COMMIT;
