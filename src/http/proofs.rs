//! Proofs (DESIGN §8): RFC 9162 inclusion and consistency proofs (JSON,
//! base64 hashes) and a revision's C2SP tlog-proof file. Public, CORS.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::checkpoints::TEXT;
use super::factchecks::public_cors;
use super::problem::Problem;
use super::tiles::{keep_tile, kept_tile};
use super::{AppState, with_conn};
use crate::error::{AppError, AppResult};
use crate::store;

/// Proofs against a given tree size never change.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InclusionParams {
    /// The revision (leaf index = seq − 1).
    pub seq: i64,
    /// The tree size (a checkpoint's).
    pub size: u64,
}

#[derive(Serialize, ToSchema)]
pub struct InclusionView {
    pub seq: i64,
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Base64 hashes, leaf to root (RFC 9162 §2.1.3).
    pub hashes: Vec<String>,
}

/// The inclusion proof of revision `seq` in the tree of `size` leaves.
#[utoipa::path(
    operation_id = "getInclusionProof",
    params(InclusionParams), responses((status = 200, body = InclusionView), (status = 422, body = Problem)), tag = "transparency")]
#[get("/v1/log/proof/inclusion", wrap = "public_cors()")]
pub async fn inclusion(state: web::Data<AppState>, params: web::Query<InclusionParams>) -> AppResult<HttpResponse> {
    let InclusionParams { seq, size } = params.into_inner();
    // Tiles come from memory when read before: what a tile holds at a width
    // never changes. Having every tile the proof needs, down to the right
    // edge at `size`, also shows the tree reached `size`.
    let needed = store::proofs::inclusion_tiles(seq, size)?;
    let mut tiles = Vec::with_capacity(needed.len());
    let mut missing = vec![];
    for id in needed {
        match kept_tile(&state, id) {
            Some(kept) => tiles.push((id, kept.to_vec())),
            None => missing.push(id),
        }
    }
    if !missing.is_empty() {
        let read = with_conn(&state, move |conn| store::proofs::tiles_in_tree(conn, size, &missing)).await?;
        for (id, bytes) in &read {
            keep_tile(&state, *id, actix_web::web::Bytes::from(bytes.clone()));
        }
        tiles.extend(read);
    }
    let p = store::proofs::inclusion_from(seq, size, tiles)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .json(InclusionView {
            seq: p.seq,
            leaf_index: p.leaf_index,
            tree_size: p.tree_size,
            hashes: p.hashes.iter().map(|h| h.to_base64()).collect(),
        }))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ConsistencyParams {
    /// The older tree size.
    pub from: u64,
    /// The newer tree size.
    pub to: u64,
}

#[derive(Serialize, ToSchema)]
pub struct ConsistencyView {
    pub from: u64,
    pub to: u64,
    /// Base64 hashes (RFC 9162 §2.1.4).
    pub hashes: Vec<String>,
}

/// The consistency proof between the trees of `from` and `to` leaves.
#[utoipa::path(operation_id = "getConsistencyProof", params(ConsistencyParams), responses((status = 200, body = ConsistencyView), (status = 422, body = Problem)), tag = "transparency")]
#[get("/v1/log/proof/consistency", wrap = "public_cors()")]
pub async fn consistency(state: web::Data<AppState>, params: web::Query<ConsistencyParams>) -> AppResult<HttpResponse> {
    let ConsistencyParams { from, to } = params.into_inner();
    let hashes = with_conn(&state, move |conn| store::proofs::consistency(conn, from, to)).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, IMMUTABLE))
        .json(ConsistencyView {
            from,
            to,
            hashes: hashes.iter().map(|h| h.to_base64()).collect(),
        }))
}

/// Revision `seq` as a C2SP tlog-proof file (index, inclusion proof, the
/// newest signed checkpoint). Public: a proof reveals only hashes, which the
/// public tiles hold anyway.
#[utoipa::path(
    operation_id = "getRevisionTlogProof",
    params(("seq" = i64, Path)),
    responses(
        (status = 200, content_type = "text/plain", body = String),
        (status = 404, body = Problem, description = "no signed checkpoint covers this revision yet"),
        (status = 422, body = Problem),
    ),
    tag = "transparency"
)]
#[get("/v1/revisions/{seq}/tlog-proof", wrap = "public_cors()")]
pub async fn tlog_proof(state: web::Data<AppState>, seq: web::Path<i64>) -> AppResult<HttpResponse> {
    let seq = seq.into_inner();
    if seq < 1 {
        return Err(AppError::field("seq", "seq must be ≥ 1"));
    }
    let quorum = state.config.log.witness_quorum;
    let text = with_conn(&state, move |conn| store::proofs::tlog_proof(conn, seq, quorum)).await?;
    Ok(HttpResponse::Ok()
        .content_type(TEXT)
        .insert_header((header::CACHE_CONTROL, "public, max-age=1"))
        .body(text))
}

#[derive(Serialize, ToSchema)]
pub struct InclusionOut {
    pub leaf_index: u64,
    pub tree_size: u64,
    /// Base64 hashes, leaf to root.
    pub hashes: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ProvenRevisionOut {
    /// The revision exactly as the export writes it (its entry's fields,
    /// seq, entry_hash and chain_hash): recompute entry_hash from it.
    pub entry: crate::model::RevisionRecord,
    pub seq: i64,
    /// Lowercase hex; the leaf data is these 32 bytes.
    pub entry_hash: String,
    pub inclusion: InclusionOut,
}

#[derive(Serialize, ToSchema)]
pub struct FactCheckProofOut {
    /// The signed checkpoint (C2SP tlog-checkpoint note) every inclusion proof leads to.
    pub checkpoint: String,
    /// The name of the log key that signs it (GET /v1/log/key).
    pub key_name: String,
    pub revisions: Vec<ProvenRevisionOut>,
}

/// Proof of a published fact check: every revision it is built from (the
/// claim, its claimant, active appearances and their articles, the verdict,
/// corrected verdicts and cited evidence), each with its inclusion proof in
/// the newest signed checkpoint.
#[utoipa::path(
    operation_id = "getFactCheckProof",
    params(("claim_id" = uuid::Uuid, Path)),
    responses(
        (status = 200, body = FactCheckProofOut),
        (status = 400, body = Problem),
        (status = 404, body = Problem, description = "no published fact check for this claim"),
        (status = 503, body = Problem, description = "no signed checkpoint covers the fact check yet (retry shortly)"),
    ),
    tag = "transparency"
)]
#[get("/v1/factchecks/{claim_id}/proof", wrap = "public_cors()")]
pub async fn factcheck(state: web::Data<AppState>, claim_id: web::Path<uuid::Uuid>) -> AppResult<HttpResponse> {
    let claim_id = claim_id.into_inner();
    let key_name = state.log_key.name().to_string();
    let quorum = state.config.log.witness_quorum;
    let proof = with_conn(&state, move |conn| {
        store::proofs::factcheck_proof(conn, claim_id, &key_name, quorum)
    })
    .await?;
    let revisions = proof
        .revisions
        .into_iter()
        .map(|p| ProvenRevisionOut {
            seq: p.revision.seq,
            entry_hash: hex::encode(&p.revision.entry_hash),
            entry: crate::model::RevisionRecord::from(&p.revision),
            inclusion: InclusionOut {
                leaf_index: p.inclusion.leaf_index,
                tree_size: p.inclusion.tree_size,
                hashes: p.inclusion.hashes.iter().map(|h| h.to_base64()).collect(),
            },
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=1"))
        .json(FactCheckProofOut {
            checkpoint: proof.checkpoint,
            key_name: proof.key_name,
            revisions,
        }))
}
