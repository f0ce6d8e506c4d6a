-- claimledger foundation: projections (current state) and the append-only,
-- hash-chained revision log that is the source of truth.

CREATE TABLE editors (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    username      text NOT NULL UNIQUE CHECK (username ~ '^[a-z0-9][a-z0-9._-]{1,62}$'),
    display_name  text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
    -- NULL: a system account that can never log in (seed accounts).
    password_hash text,
    roles         text[] NOT NULL
                  CHECK (roles <@ ARRAY['editor', 'reviewer', 'auditor', 'admin']::text[]),
    active        boolean NOT NULL DEFAULT true,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- The system actor: operator commands run from the CLI act as it. It has no
-- password and no roles, so it can never log in or be granted a token.
INSERT INTO editors (id, username, display_name, password_hash, roles, active)
VALUES ('00000000-0000-0000-0000-000000000000', 'system', 'System (operator CLI)', NULL, '{}', true);

-- Failed logins, kept in the database so the lockout survives a restart.
CREATE TABLE login_failures (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    username     text NOT NULL,
    failed_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_username_idx ON login_failures (username, failed_at);

CREATE TABLE articles (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    slug          text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND length(slug) <= 120),
    title         text NOT NULL CHECK (length(title) BETWEEN 1 AND 500),
    publisher     text,
    url           text,
    published_on  date,
    language      text NOT NULL,
    body          text NOT NULL CHECK (length(body) >= 1),
    body_sha256   text NOT NULL CHECK (body_sha256 ~ '^[0-9a-f]{64}$'),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE claims (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    statement     text NOT NULL CHECK (length(statement) BETWEEN 1 AND 2000),
    claimant      text NOT NULL CHECK (length(claimant) BETWEEN 1 AND 300),
    claimed_on    date,
    language      text NOT NULL,
    tags          text[] NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    search        tsvector NOT NULL GENERATED ALWAYS AS (
                      setweight(to_tsvector('english', statement), 'A') ||
                      setweight(to_tsvector('simple', claimant), 'B')
                  ) STORED
);
CREATE INDEX claims_search_idx ON claims USING gin (search);
CREATE INDEX claims_created_idx ON claims (created_at DESC, id DESC);

-- A claim quoted in an article: W3C TextQuoteSelector + TextPositionSelector
-- (code points of the article body, end exclusive).
CREATE TABLE appearances (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    claim_id      uuid NOT NULL REFERENCES claims (id),
    article_id    uuid NOT NULL REFERENCES articles (id),
    exact         text NOT NULL CHECK (length(exact) >= 1),
    prefix        text NOT NULL DEFAULT '',
    suffix        text NOT NULL DEFAULT '',
    start_pos     integer NOT NULL CHECK (start_pos >= 0),
    end_pos       integer NOT NULL,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (end_pos > start_pos)
);
CREATE INDEX appearances_claim_idx ON appearances (claim_id);
CREATE INDEX appearances_article_idx ON appearances (article_id);

CREATE TABLE evidence (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    claim_id      uuid NOT NULL REFERENCES claims (id),
    stance        text NOT NULL CHECK (stance IN ('supports', 'refutes', 'context')),
    summary       text NOT NULL CHECK (length(summary) BETWEEN 1 AND 2000),
    article_id    uuid REFERENCES articles (id),
    exact         text,
    prefix        text,
    suffix        text,
    start_pos     integer,
    end_pos       integer,
    url           text,
    title         text,
    status        text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'withdrawn')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    -- A source is a quoted passage of a stored article, or an external URL.
    CHECK (
        (article_id IS NOT NULL AND exact IS NOT NULL AND start_pos IS NOT NULL AND end_pos > start_pos)
        OR (article_id IS NULL AND exact IS NULL AND start_pos IS NULL AND url IS NOT NULL)
    )
);
CREATE INDEX evidence_claim_idx ON evidence (claim_id);

CREATE TABLE verdicts (
    id            uuid PRIMARY KEY,
    version       integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    claim_id      uuid NOT NULL REFERENCES claims (id),
    rating        text NOT NULL CHECK (rating IN ('true', 'mostly_true', 'half_true', 'mostly_false',
                                                  'false', 'misleading', 'missing_context', 'unproven')),
    headline      text NOT NULL CHECK (length(headline) BETWEEN 1 AND 300),
    summary       text NOT NULL CHECK (length(summary) BETWEEN 1 AND 10000),
    evidence_ids  uuid[] NOT NULL DEFAULT '{}',
    status        text NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'in_review', 'published', 'superseded', 'withdrawn')),
    author_id     uuid NOT NULL REFERENCES editors (id),
    reviewer_id   uuid REFERENCES editors (id),
    published_at  timestamptz,
    superseded_at timestamptz,
    withdrawn_at  timestamptz,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (status NOT IN ('published', 'superseded') OR published_at IS NOT NULL)
);
CREATE INDEX verdicts_claim_idx ON verdicts (claim_id);
-- At most one published verdict per claim: publishing supersedes the previous one.
CREATE UNIQUE INDEX verdicts_one_published_idx ON verdicts (claim_id) WHERE status = 'published';
CREATE INDEX verdicts_published_idx ON verdicts (published_at DESC, claim_id DESC) WHERE status = 'published';

-- The log. seq is dense (1, 2, 3 …) because it comes from the locked log_head
-- row, never from a sequence.
CREATE TABLE revisions (
    seq            bigint PRIMARY KEY CHECK (seq >= 1),
    entity_kind    text NOT NULL
                   CHECK (entity_kind IN ('editor', 'article', 'claim', 'appearance', 'evidence', 'verdict')),
    entity_id      uuid NOT NULL,
    entity_version integer NOT NULL CHECK (entity_version >= 1),
    action         text NOT NULL CHECK (action ~ '^[a-z_]{1,40}$'),
    actor_id       uuid NOT NULL REFERENCES editors (id),
    reason         text,
    recorded_at    timestamptz NOT NULL,
    snapshot       jsonb NOT NULL,
    entry_hash     bytea NOT NULL CHECK (octet_length(entry_hash) = 32),
    chain_hash     bytea NOT NULL CHECK (octet_length(chain_hash) = 32),
    UNIQUE (entity_id, entity_version)
);
CREATE INDEX revisions_entity_idx ON revisions (entity_id, seq);
CREATE INDEX revisions_actor_idx ON revisions (actor_id, seq);
CREATE INDEX revisions_recorded_at_idx ON revisions (recorded_at, seq);
CREATE INDEX revisions_kind_idx ON revisions (entity_kind, seq);
CREATE INDEX revisions_action_idx ON revisions (action, seq);
-- Everything hanging off a claim (appearances, evidence, verdicts) carries
-- claim_id in its snapshot: history and as-of reads find them through this
-- index, over the hashed data itself.
CREATE INDEX revisions_claim_idx ON revisions ((snapshot ->> 'claim_id'), seq)
    WHERE snapshot ? 'claim_id';

-- One row: the newest revision. Writers lock it (SELECT … FOR UPDATE) to take
-- the next seq; locking "the newest revision" instead would fork the chain.
CREATE TABLE log_head (
    id          boolean PRIMARY KEY DEFAULT true CHECK (id),
    seq         bigint NOT NULL CHECK (seq >= 0),
    chain_hash  bytea NOT NULL CHECK (octet_length(chain_hash) = 32),
    recorded_at timestamptz NOT NULL
);
INSERT INTO log_head (id, seq, chain_hash, recorded_at)
VALUES (true, 0, decode(repeat('00', 32), 'hex'), '1970-01-01T00:00:00Z');

-- The log is append-only, whoever asks: no UPDATE, DELETE or TRUNCATE.
CREATE FUNCTION claimledger_refuse_log_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'revisions are append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER revisions_no_update BEFORE UPDATE ON revisions
    FOR EACH ROW EXECUTE FUNCTION claimledger_refuse_log_change();
CREATE TRIGGER revisions_no_delete BEFORE DELETE ON revisions
    FOR EACH ROW EXECUTE FUNCTION claimledger_refuse_log_change();
CREATE TRIGGER revisions_no_truncate BEFORE TRUNCATE ON revisions
    FOR EACH STATEMENT EXECUTE FUNCTION claimledger_refuse_log_change();

-- The head only moves forward and is never removed.
CREATE FUNCTION claimledger_guard_log_head() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'log_head only moves forward: % refused', TG_OP
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER log_head_forward BEFORE UPDATE OR DELETE ON log_head
    FOR EACH ROW EXECUTE FUNCTION claimledger_guard_log_head();
CREATE TRIGGER log_head_no_truncate BEFORE TRUNCATE ON log_head
    FOR EACH STATEMENT EXECUTE FUNCTION claimledger_refuse_log_change();

-- Idempotency-Key: the first response to a POST, replayed to retries.
CREATE TABLE idempotency_keys (
    actor_id     uuid NOT NULL REFERENCES editors (id),
    key          text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash bytea NOT NULL,
    status       smallint NOT NULL,
    location     text,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_id, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
