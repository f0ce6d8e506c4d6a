-- (a) reference: GET /v1/factchecks/{id}'s one statement when the document
-- is not in the server's memory: one indexed lookup of the public document
-- derived from the log (store::factchecks::get, as diesel writes it). -D
-- published (claims 1..published have one).
\set n random(1, :published)
\set lim 1
SELECT "public_factchecks"."seq", "public_factchecks"."body", "public_factchecks"."aggregate" FROM "public_factchecks" WHERE ("public_factchecks"."claim_id" = ('01900002-0000-7000-8000-' || lpad(to_hex(:n::bigint), 12, '0'))::uuid) LIMIT :lim;
