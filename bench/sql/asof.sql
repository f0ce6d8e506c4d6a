-- (d) reference: GET /v1/claims/{id}?at_seq=N's statement (captured with
-- log_statement = 'all'): the claim's family as of seq N
-- (ledger::asof::FAMILY_AT_SQL); the account comes from the server's memory
-- (http/bearer.rs). N is random in the newer half of the log, as in
-- bench/lua/asof.lua; the claim id is built in SQL from a random number
-- where the server binds it. -D claims, head.
\set n random(1, :claims)
\set at random(:head / 2, :head)
WITH claim AS (
     SELECT * FROM revisions WHERE entity_id = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid AND seq <= :at ORDER BY seq DESC LIMIT 1
 )
 SELECT seq, entity_kind, snapshot FROM (
   SELECT * FROM claim
   UNION ALL
   (SELECT * FROM revisions
    WHERE entity_id = (SELECT (snapshot::jsonb ->> 'claimant_id')::uuid FROM claim) AND seq <= :at
    ORDER BY seq DESC LIMIT 1)
   UNION ALL
   SELECT r.* FROM claim_members m
     CROSS JOIN LATERAL (SELECT * FROM revisions
       WHERE entity_id = m.entity_id AND seq <= :at ORDER BY seq DESC LIMIT 1) r
   WHERE m.claim_id = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid
     AND r.claim_id = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid
 ) AS family;
