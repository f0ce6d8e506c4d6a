-- (d) reference: GET /v1/claims/{id}/history's statements (read from the code,
-- as the server runs them now): one page of the claim's family's revisions
-- (store::history::HISTORY_SQL; after = 0, limit 20, the default page). The
-- account comes from the server's memory (http/bearer.rs), and a page that
-- holds the claim's own revisions shows it is a claim; the first page holds
-- every entity's first version, so the server needs no further lookups.
-- -D claims.
\set n random(1, :claims)
\set after 0
\set page 20
SELECT * FROM (
     (SELECT * FROM revisions WHERE entity_id = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid AND seq > :after ORDER BY seq LIMIT :page)
     UNION ALL
     (SELECT * FROM revisions
      WHERE claim_id = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid AND seq > :after
      ORDER BY claim_id, seq LIMIT :page)
 ) family ORDER BY seq LIMIT :page;
