-- Push: webhook subscriptions (log entities, kind 'webhook'), their signing
-- secrets (never in the log), each subscription's durable delivery cursor
-- over feed_items (the outbox the sequencer writes), and the deliveries log.

CREATE TABLE webhooks (
    id          uuid PRIMARY KEY,
    version     integer NOT NULL DEFAULT 1,
    url         text NOT NULL,
    description text,
    -- Empty: every event type.
    event_types jsonb NOT NULL DEFAULT '[]',
    -- {claimant?, rating?, language?, tags?}
    filter      jsonb NOT NULL DEFAULT '{}',
    status      text NOT NULL CHECK (status IN ('active', 'paused', 'disabled', 'deleted')),
    -- Why the server disabled it (failing for too long, 410 Gone).
    disabled_reason text,
    -- Bumped by every rotation: which secret signs (the secrets are not logged).
    secret_version integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Signing keys. The current one has expires_at NULL; a rotated-out key
-- keeps signing (a second v1 signature) until expires_at.
CREATE TABLE webhook_secrets (
    webhook_id  uuid NOT NULL REFERENCES webhooks (id),
    version     integer NOT NULL,
    key         bytea NOT NULL CHECK (octet_length(key) BETWEEN 24 AND 64),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz,
    PRIMARY KEY (webhook_id, version)
);

-- Where each subscription stands in the feed: everything up to after_seq
-- was delivered (or did not match its filter). The head-of-line event
-- (the first matching item after it) is retried until it is delivered.
CREATE TABLE webhook_cursors (
    webhook_id      uuid PRIMARY KEY REFERENCES webhooks (id),
    after_seq       bigint NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    failing_since   timestamptz
);
CREATE INDEX webhook_cursors_due_idx ON webhook_cursors (next_attempt_at);

-- Every attempt. seq NULL: a test message.
CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    webhook_id      uuid NOT NULL REFERENCES webhooks (id),
    seq             bigint,
    event_type      text NOT NULL,
    message_id      text NOT NULL,
    attempt         integer NOT NULL,
    status_code     integer,
    error           text,
    latency_ms      integer NOT NULL,
    delivered       boolean NOT NULL,
    attempted_at    timestamptz NOT NULL DEFAULT now(),
    next_attempt_at timestamptz
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
