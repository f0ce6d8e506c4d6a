-- (d) reference: GET /v1/claims/{id}/history's statements (read from the code,
-- as the server runs them now): the account check, the claim, one page of its
-- family's revisions (store::history::HISTORY_SQL; after = 0, limit 20, the
-- default page).
-- The first page holds every entity's first version, so the server needs no
-- further lookups. -D claims, auditor, active=true.
\set n random(1, :claims)
\set lim 1
\set after 0
\set page 20
SELECT "editors"."username", "editors"."roles" FROM "editors" WHERE (("editors"."id" = :auditor) AND ("editors"."active" = :active)) LIMIT :lim;
SELECT "claims"."id", "claims"."version", "claims"."statement", "claims"."claimant", "claims"."claimed_on", "claims"."language", "claims"."tags", "claims"."status", "claims"."created_at", "claims"."updated_at" FROM "claims" WHERE ("claims"."id" = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid) LIMIT :lim \gset c_
SELECT * FROM (
     (SELECT * FROM revisions WHERE entity_id = :c_id AND seq > :after ORDER BY seq LIMIT :page)
     UNION ALL
     (SELECT * FROM revisions
      WHERE snapshot ? 'claim_id' AND (snapshot ->> 'claim_id') = :c_id AND seq > :after
      ORDER BY (snapshot ->> 'claim_id'), seq LIMIT :page)
 ) family ORDER BY seq LIMIT :page;
