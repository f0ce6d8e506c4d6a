DROP INDEX verdicts_factcheck_search_idx;
DROP TRIGGER claims_factcheck_search ON claims;
DROP FUNCTION claimledger_claim_search();
DROP TRIGGER verdicts_factcheck_search ON verdicts;
DROP FUNCTION claimledger_verdict_search();
ALTER TABLE verdicts DROP COLUMN factcheck_search;
DROP FUNCTION claimledger_factcheck_document(text, text, text, text);
