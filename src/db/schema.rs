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
    idempotency_keys (actor_id, key) {
        actor_id -> Uuid,
        key -> Text,
        request_hash -> Bytea,
        status -> Int2,
        location -> Nullable<Text>,
        body -> Jsonb,
        created_at -> Timestamptz,
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
    revisions (seq) {
        seq -> Int8,
        entity_kind -> Text,
        entity_id -> Uuid,
        entity_version -> Int4,
        action -> Text,
        actor_id -> Uuid,
        reason -> Nullable<Text>,
        recorded_at -> Timestamptz,
        snapshot -> Jsonb,
        entry_hash -> Bytea,
        chain_hash -> Bytea,
    }
}

diesel::table! {
    use diesel::sql_types::*;
    use super::sql_types::Tsvector;

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
        factcheck_search -> Tsvector,
    }
}

diesel::joinable!(appearances -> articles (article_id));
diesel::joinable!(appearances -> claims (claim_id));
diesel::joinable!(evidence -> articles (article_id));
diesel::joinable!(evidence -> claims (claim_id));
diesel::joinable!(idempotency_keys -> editors (actor_id));
diesel::joinable!(revisions -> editors (actor_id));
diesel::joinable!(verdicts -> claims (claim_id));

diesel::allow_tables_to_appear_in_same_query!(
    appearances,
    articles,
    claims,
    editors,
    evidence,
    idempotency_keys,
    log_head,
    login_failures,
    revisions,
    verdicts,
);
