//! `/assets/{name}`: the pages' stylesheet and the proof-checking script,
//! compiled into the binary (nothing is fetched from anywhere else).

use std::sync::LazyLock;

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{cacheable, not_found};
use crate::error::AppResult;
use crate::http::AppState;
use crate::model::digest::sha256;

struct Asset {
    name: &'static str,
    content_type: &'static str,
    body: &'static str,
}

const ASSETS: &[Asset] = &[
    Asset {
        name: "site.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../../../assets/site.css"),
    },
    Asset {
        name: "verify.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../../../assets/verify.js"),
    },
];

/// Each asset's ETag: a hash of its content.
static ETAGS: LazyLock<Vec<String>> = LazyLock::new(|| {
    ASSETS
        .iter()
        .map(|a| format!("\"as-{}\"", &hex::encode(sha256(a.body.as_bytes()))[..32]))
        .collect()
});

pub async fn asset(state: web::Data<AppState>, req: HttpRequest, name: web::Path<String>) -> AppResult<HttpResponse> {
    match ASSETS.iter().position(|a| a.name == name.as_str()) {
        Some(i) => cacheable(
            &req,
            &state,
            ETAGS[i].clone(),
            ASSETS[i].content_type,
            Bytes::from_static(ASSETS[i].body.as_bytes()),
        ),
        None => not_found(&state, "There is no such file."),
    }
}
