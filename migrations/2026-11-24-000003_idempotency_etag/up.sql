-- The version a stored response's ETag names, kept as a value rather than
-- read back out of the stored body.
ALTER TABLE idempotency_keys ADD COLUMN etag_version integer;
UPDATE idempotency_keys SET etag_version = (body ->> 'version')::integer
 WHERE jsonb_typeof(body -> 'version') = 'number';
