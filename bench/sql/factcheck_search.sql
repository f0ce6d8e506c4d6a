-- (b) reference: GET /v1/factchecks?q=…'s one statement
-- (store::factchecks::list with q), in its read-only REPEATABLE READ
-- transaction: the newest 2,000 matches ranked, the page of 20 with the
-- documents as stored. :q is one search term
-- (bench/run makes one copy of this script per term). -D q.
\set lim 20
\set cap 2000
BEGIN TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY;
WITH matched AS MATERIALIZED (SELECT p.claim_id, p.published_at, ts_rank(p.search, websearch_to_tsquery('english', :q)) AS rank FROM public_factchecks p WHERE p.search @@ websearch_to_tsquery('english', :q) ORDER BY p.published_at DESC, p.claim_id DESC LIMIT :cap) SELECT m.claim_id, m.published_at, m.rank, p.body FROM matched m JOIN public_factchecks p USING (claim_id) WHERE true ORDER BY m.rank DESC, m.published_at DESC, m.claim_id DESC LIMIT :lim;
COMMIT;
