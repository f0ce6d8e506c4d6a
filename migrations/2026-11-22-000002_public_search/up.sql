-- Public full-text search over fact checks: one document per verdict that
-- joins the claim's statement and claimant with the verdict's headline and
-- summary, so a query's words may match across claim and verdict and one
-- GIN index answers it. The claim's part is copied in, so it is kept by
-- triggers: the verdicts' own on insert and edit, the claims' on edits of
-- statement or claimant. Only the English configuration is used, on both
-- sides (documents and websearch_to_tsquery), so names stem alike.

CREATE FUNCTION claimledger_factcheck_document(statement text, claimant text, headline text, summary text)
RETURNS tsvector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT setweight(to_tsvector('english'::regconfig, statement), 'A') ||
           setweight(to_tsvector('english'::regconfig, headline), 'A') ||
           setweight(to_tsvector('english'::regconfig, claimant), 'B') ||
           setweight(to_tsvector('english'::regconfig, summary), 'C')
$$;

ALTER TABLE verdicts ADD COLUMN factcheck_search tsvector NOT NULL DEFAULT ''::tsvector;

CREATE FUNCTION claimledger_verdict_search() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    claim_statement text;
    claim_claimant  text;
BEGIN
    SELECT statement, claimant INTO claim_statement, claim_claimant FROM claims WHERE id = NEW.claim_id;
    NEW.factcheck_search := claimledger_factcheck_document(claim_statement, claim_claimant, NEW.headline, NEW.summary);
    RETURN NEW;
END;
$$;
CREATE TRIGGER verdicts_factcheck_search BEFORE INSERT OR UPDATE OF claim_id, headline, summary ON verdicts
    FOR EACH ROW EXECUTE FUNCTION claimledger_verdict_search();

CREATE FUNCTION claimledger_claim_search() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE verdicts
    SET factcheck_search = claimledger_factcheck_document(NEW.statement, NEW.claimant, headline, summary)
    WHERE claim_id = NEW.id;
    RETURN NULL;
END;
$$;
CREATE TRIGGER claims_factcheck_search AFTER UPDATE OF statement, claimant ON claims
    FOR EACH ROW
    WHEN (OLD.statement IS DISTINCT FROM NEW.statement OR OLD.claimant IS DISTINCT FROM NEW.claimant)
    EXECUTE FUNCTION claimledger_claim_search();

UPDATE verdicts v
SET factcheck_search = claimledger_factcheck_document(c.statement, c.claimant, v.headline, v.summary)
FROM claims c
WHERE c.id = v.claim_id;

-- Only published verdicts are searched (the public set).
CREATE INDEX verdicts_factcheck_search_idx ON verdicts USING gin (factcheck_search) WHERE status = 'published';
