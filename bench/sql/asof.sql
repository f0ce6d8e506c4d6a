-- (d) reference: GET /v1/claims/{id}?at_seq=N's statements (captured with
-- log_statement = 'all'): the account check, then the claim's family as of
-- seq N (ledger::asof::FAMILY_AT_SQL). N is random in the newer half of the
-- log, as in bench/lua/asof.lua; the claim id is built in SQL from a random
-- number where the server binds it. -D claims, head, auditor, active=true.
\set n random(1, :claims)
\set at random(:head / 2, :head)
\set lim 1
SELECT "editors"."username", "editors"."roles" FROM "editors" WHERE (("editors"."id" = :auditor) AND ("editors"."active" = :active)) LIMIT :lim;
WITH claim AS (
     SELECT * FROM revisions WHERE entity_id = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid AND seq <= :at ORDER BY seq DESC LIMIT 1
 )
 SELECT seq, entity_kind, snapshot::text AS snapshot FROM (
   SELECT * FROM claim
   UNION ALL
   (SELECT * FROM revisions
    WHERE entity_id = (SELECT (snapshot ->> 'claimant_id')::uuid FROM claim) AND seq <= :at
    ORDER BY seq DESC LIMIT 1)
   UNION ALL
   (SELECT DISTINCT ON (entity_id) * FROM revisions
    WHERE snapshot ? 'claim_id' AND (snapshot ->> 'claim_id') = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0')) AND seq <= :at
    ORDER BY entity_id, seq DESC)
 ) AS family;
