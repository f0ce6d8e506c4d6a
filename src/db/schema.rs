// @generated automatically by Diesel CLI.

pub mod sql_types {
    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]
    #[diesel(postgres_type(name = "tsvector", schema = "pg_catalog"))]
    pub struct Tsvector;
}

diesel::table! {
    appearances (id) {
        id -> Uuid,
        version -> Int4,
        claim_id -> Uuid,
        article_id -> Uuid,
        exact -> Text,
        prefix -> Text,
        suffix -> Text,
        start_pos -> Int4,
        end_pos -> Int4,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        kind -> Text,
        translated -> Bool,
        original_language -> Nullable<Text>,
    }
}

diesel::table! {
    articles (id) {
        id -> Uuid,
        version -> Int4,
        slug -> Text,
        title -> Text,
        publisher -> Nullable<Text>,
        url -> Nullable<Text>,
        published_on -> Nullable<Date>,
        language -> Text,
        body -> Text,
        body_sha256 -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    checkpoint_cosignatures (tree_size, witness) {
        tree_size -> Int8,
        witness -> Text,
        line -> Text,
    }
}

diesel::table! {
    checkpoints (tree_size) {
        tree_size -> Int8,
        root_hash -> Bytea,
        note -> Text,
        signed_at -> Timestamptz,
    }
}

diesel::table! {
    claim_members (claim_id, entity_id) {
        claim_id -> Uuid,
        entity_id -> Uuid,
    }
}

diesel::table! {
    claimants (id) {
        id -> Uuid,
        version -> Int4,
        name -> Text,
        kind -> Text,
        role -> Nullable<Text>,
        same_as -> Array<Text>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    claims (id) {
        id -> Uuid,
        version -> Int4,
        statement -> Text,
        claimant -> Text,
        claimed_on -> Nullable<Date>,
        language -> Text,
        tags -> Array<Text>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
        search -> Tsvector,
        claimant_id -> Nullable<Uuid>,
        claimed_on_precision -> Text,
        claimed_on_note -> Nullable<Text>,
        merged_into -> Nullable<Uuid>,
    }
}

diesel::table! {
    editors (id) {
        id -> Uuid,
        version -> Int4,
        username -> Text,
        display_name -> Text,
        password_hash -> Nullable<Text>,
        roles -> Array<Text>,
        active -> Bool,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    evidence (id) {
        id -> Uuid,
        version -> Int4,
        claim_id -> Uuid,
        stance -> Text,
        summary -> Text,
        article_id -> Nullable<Uuid>,
        exact -> Nullable<Text>,
        prefix -> Nullable<Text>,
        suffix -> Nullable<Text>,
        start_pos -> Nullable<Int4>,
        end_pos -> Nullable<Int4>,
        url -> Nullable<Text>,
        title -> Nullable<Text>,
        status -> Text,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    feed_items (seq) {
        seq -> Int8,
        claim_id -> Uuid,
        change -> Text,
        verdict_id -> Nullable<Uuid>,
        factcheck -> Nullable<Text>,
        hidden -> Bool,
        merged_into -> Nullable<Uuid>,
    }
}

diesel::table! {
    idempotency_keys (actor_id, key) {
        actor_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        body -> Jsonb,
        created_at -> Timestamptz,
        etag_version -> Nullable<Int4>,
        log_entity_id -> Nullable<Uuid>,
        log_entity_version -> Nullable<Int4>,
    }
}

diesel::table! {
    entity_heads (entity_id) {
        entity_id -> Uuid,
        seq -> Int8,
        claim_id -> Nullable<Text>,
    }
}

diesel::table! {
    log_derived (id) {
        id -> Bool,
        public_seq -> Int8,
        tree_size -> Int8,
        heads_seq -> Int8,
    }
}

diesel::table! {
    log_head (id) {
        id -> Bool,
        seq -> Int8,
        chain_hash -> Bytea,
        recorded_at -> Timestamptz,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Int8,
        username -> Text,
        failed_at -> Timestamptz,
    }
}

diesel::table! {
    pending_revisions (grp, ord) {
        grp -> Int8,
        ord -> Int4,
        entity_kind -> Text,
        entity_id -> Uuid,
        entity_version -> Int4,
        action -> Text,
        actor_id -> Uuid,
        reason -> Nullable<Text>,
        before_time -> Bytea,
        after_time -> Bytea,
        snapshot -> Text,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

    public_factchecks (claim_id) {
        claim_id -> Uuid,
        seq -> Int8,
        verdict_id -> Uuid,
        published_at -> Timestamptz,
        rating -> Text,
        claimant -> Text,
        language -> Text,
        article_ids -> Array<Uuid>,
        search -> Tsvector,
        body -> Text,
        aggregate -> Jsonb,
        claimant_id -> Nullable<Uuid>,
        statement -> Text,
    }
}

diesel::table! {
    revisions (seq) {
        seq -> Int8,
        entity_kind -> Text,
        entity_id -> Uuid,
        entity_version -> Int4,
        action -> Text,
        actor_id -> Uuid,
        reason -> Nullable<Text>,
        recorded_at -> Timestamptz,
        snapshot -> Text,
        entry_hash -> Bytea,
        chain_hash -> Bytea,
        claim_id -> Nullable<Uuid>,
    }
}

diesel::table! {
    tlog_tiles (level, idx) {
        level -> Int2,
        idx -> Int8,
        hashes -> Bytea,
    }
}

diesel::table! {
    verdicts (id) {
        id -> Uuid,
        version -> Int4,
        claim_id -> Uuid,
        rating -> Text,
        headline -> Text,
        summary -> Text,
        evidence_ids -> Array<Uuid>,
        status -> Text,
        author_id -> Uuid,
        reviewer_id -> Nullable<Uuid>,
        published_at -> Nullable<Timestamptz>,
        superseded_at -> Nullable<Timestamptz>,
        withdrawn_at -> Nullable<Timestamptz>,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::table! {
    webhook_cursors (webhook_id) {
        webhook_id -> Uuid,
        after_seq -> Int8,
        attempts -> Int4,
        next_attempt_at -> Timestamptz,
        failing_since -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Int8,
        webhook_id -> Uuid,
        seq -> Nullable<Int8>,
        event_type -> Text,
        message_id -> Text,
        attempt -> Int4,
        status_code -> Nullable<Int4>,
        error -> Nullable<Text>,
        latency_ms -> Int4,
        delivered -> Bool,
        attempted_at -> Timestamptz,
        next_attempt_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhook_secrets (webhook_id, version) {
        webhook_id -> Uuid,
        version -> Int4,
        key -> Bytea,
        created_at -> Timestamptz,
        expires_at -> Nullable<Timestamptz>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Uuid,
        version -> Int4,
        url -> Text,
        description -> Nullable<Text>,
        event_types -> Jsonb,
        filter -> Jsonb,
        status -> Text,
        disabled_reason -> Nullable<Text>,
        secret_version -> Int4,
        created_at -> Timestamptz,
        updated_at -> Timestamptz,
    }
}

diesel::joinable!(appearances -> articles (article_id));
diesel::joinable!(appearances -> claims (claim_id));
diesel::joinable!(checkpoint_cosignatures -> checkpoints (tree_size));
diesel::joinable!(claims -> claimants (claimant_id));
diesel::joinable!(evidence -> articles (article_id));
diesel::joinable!(evidence -> claims (claim_id));
diesel::joinable!(idempotency_keys -> editors (actor_id));
diesel::joinable!(pending_revisions -> editors (actor_id));
diesel::joinable!(revisions -> editors (actor_id));
diesel::joinable!(verdicts -> claims (claim_id));
diesel::joinable!(webhook_cursors -> webhooks (webhook_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(webhook_secrets -> webhooks (webhook_id));

diesel::allow_tables_to_appear_in_same_query!(
    appearances,
    articles,
    checkpoint_cosignatures,
    checkpoints,
    claim_members,
    claimants,
    claims,
    editors,
    entity_heads,
    evidence,
    feed_items,
    idempotency_keys,
    log_derived,
    log_head,
    login_failures,
    pending_revisions,
    public_factchecks,
    revisions,
    tlog_tiles,
    verdicts,
    webhook_cursors,
    webhook_deliveries,
    webhook_secrets,
    webhooks,
);
