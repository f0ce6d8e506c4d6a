//! The witness's HTTP interface (C2SP tlog-witness):
//! - `POST /add-checkpoint` → 200 with cosignature line(s); 400, 403, 404, 409 (body: the
//!   witness's size, `text/x.tlog.size`), 422 per the spec; 500 when state cannot be stored.
//! - `GET /<hex SHA-256 of origin>/checkpoint` → the latest cosigned checkpoint (monitoring).
//! - `GET /` → who this witness is and which logs it follows (informational).

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use actix_web::dev::{Server, ServerHandle};
use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, HttpServer, web};

use super::core::{AddError, Witness};
use super::protocol::{MAX_BODY_BYTES, Refusal, SIZE_CONTENT_TYPE};

const TEXT: &str = "text/plain; charset=utf-8";

pub struct WitnessServer {
    server: Server,
    addr: SocketAddr,
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

fn text(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(TEXT)
        .insert_header(("Cache-Control", "no-store"))
        .body(body)
}

async fn add_checkpoint(witness: web::Data<Witness>, body: web::Bytes) -> HttpResponse {
    let witness = witness.into_inner();
    let outcome = web::block(move || witness.add_checkpoint(&body, now())).await;
    match outcome {
        Ok(Ok(lines)) => text(StatusCode::OK, lines),
        Ok(Err(AddError::Refused(Refusal::OldSize { current, .. }))) => HttpResponse::Conflict()
            .content_type(SIZE_CONTENT_TYPE)
            .insert_header(("Cache-Control", "no-store"))
            .body(format!("{current}\n")),
        Ok(Err(AddError::Refused(refusal))) => {
            let status = StatusCode::from_u16(refusal.status()).unwrap_or(StatusCode::BAD_REQUEST);
            text(status, format!("{refusal}\n"))
        }
        Ok(Err(AddError::Storage(_))) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the witness could not store its state; nothing was cosigned\n".into(),
        ),
        Err(_) => text(
            StatusCode::SERVICE_UNAVAILABLE,
            "the witness is overloaded or shutting down\n".into(),
        ),
    }
}

async fn monitoring_checkpoint(witness: web::Data<Witness>, hash: web::Path<String>) -> HttpResponse {
    let hash = hash.into_inner();
    let valid = hash.len() == 64 && hash.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    match valid.then(|| witness.checkpoint_by_origin_hash(&hash)).flatten() {
        Some(note) => text(StatusCode::OK, note),
        None => text(
            StatusCode::NOT_FOUND,
            "this witness has not cosigned a checkpoint for that origin hash\n".into(),
        ),
    }
}

async fn info(witness: web::Data<Witness>) -> HttpResponse {
    let mut body = format!(
        "claimledger tlog-witness (c2sp.org/tlog-witness, cosignature/v1)\nname: {}\ncosigner vkey: {}\nlogs:\n",
        witness.name(),
        witness.verifier().vkey()
    );
    for (origin, size) in witness.logs() {
        body.push_str(&format!(
            "  {origin} size {size} (GET /{}/checkpoint)\n",
            super::store::origin_hash(&origin)
        ));
    }
    text(StatusCode::OK, body)
}

impl WitnessServer {
    /// Binds `bind` (port 0 picks a free port) and prepares the server; it runs when awaited.
    pub fn build(witness: Arc<Witness>, bind: &str) -> io::Result<Self> {
        let data = web::Data::from(witness);
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
                .route("/add-checkpoint", web::post().to(add_checkpoint))
                .route("/{origin_hash}/checkpoint", web::get().to(monitoring_checkpoint))
                .route("/", web::get().to(info))
        })
        .workers(2)
        .bind(bind)?;
        let addr = *server.addrs().first().ok_or_else(|| io::Error::other("bound to no address"))?;
        Ok(WitnessServer {
            server: server.run(),
            addr,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> io::Result<()> {
        self.server.await
    }
}
