DROP TRIGGER revisions_claim_members ON revisions;
DROP FUNCTION claimledger_add_claim_members();
DROP TABLE claim_members;
