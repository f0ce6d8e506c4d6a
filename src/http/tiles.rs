//! C2SP tlog-tiles (DESIGN §8): hash tiles `tile/<L>/<N>[.p/<W>]` and entry
//! bundles `tile/entries/<N>[.p/<W>]`, N in `x001/x234/067` groups. Full
//! tiles never change (`immutable`); partial ones only for a short while.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};

use super::factchecks::public_cors;
use super::problem::Problem;
use super::{AppState, with_conn};
use crate::error::{AppError, AppResult};
use crate::store;
use std::sync::Arc;

use actix_web::web::Bytes;

use super::cache::CachedPage;
use crate::tlog::tile::{TILE_WIDTH, parse_tile_path};
use crate::tlog::{TileId, TilePath};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const PARTIAL: &str = "public, max-age=1";

/// The memory key of a hash tile at a width: what a tile holds at a width
/// never changes, so once read for a proof it is kept (in the public cache,
/// bounded).
fn tile_key(id: TileId) -> String {
    format!("tile {} {} {}", id.level, id.index, id.width)
}

/// A hash tile read before, from memory.
pub(super) fn kept_tile(state: &AppState, id: TileId) -> Option<Bytes> {
    state.cache.immutable(&tile_key(id)).map(|page| page.body.clone())
}

pub(super) fn keep_tile(state: &AppState, id: TileId, bytes: Bytes) {
    state.cache.keep_immutable(
        tile_key(id),
        Arc::new(CachedPage {
            etag: String::new(),
            body: bytes,
        }),
    );
}

/// A hash tile (32-byte hashes, concatenated) or an entry bundle (each
/// entry's 32-byte entry_hash after a big-endian uint16 length).
#[utoipa::path(
    operation_id = "getTile",
    params(("path" = String, Path, description = "`<L>/<N>[.p/<W>]` or `entries/<N>[.p/<W>]`, N as `x001/x234/067`")),
    responses(
        (status = 200, content_type = "application/octet-stream", body = Vec<u8>, headers(("Cache-Control" = String))),
        (status = 400, body = Problem, description = "not a canonical tile path"),
        (status = 404, body = Problem, description = "the tree has no such tile (yet)"),
    ),
    tag = "transparency"
)]
#[get("/v1/log/tile/{path:.*}", wrap = "public_cors()")]
pub async fn read(state: web::Data<AppState>, path: web::Path<String>) -> AppResult<HttpResponse> {
    let parsed = parse_tile_path(&format!("tile/{}", path.into_inner())).map_err(|e| AppError::BadRequest(e.to_string()))?;
    let (bytes, full) = match parsed {
        // Read from storage every time (not from the memory proofs use):
        // what an outsider checks is what the database holds.
        TilePath::Hashes(id) => (
            Bytes::from(with_conn(&state, move |conn| store::proofs::tile(conn, id)).await?),
            id.is_full(),
        ),
        TilePath::Entries(id) => (
            Bytes::from(with_conn(&state, move |conn| store::proofs::entries(conn, id)).await?),
            u64::from(id.width) == TILE_WIDTH,
        ),
    };
    Ok(HttpResponse::Ok()
        .content_type("application/octet-stream")
        .insert_header((header::CACHE_CONTROL, if full { IMMUTABLE } else { PARTIAL }))
        .body(bytes))
}
