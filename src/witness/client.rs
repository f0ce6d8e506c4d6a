//! The log's side of C2SP tlog-witness: submits a signed checkpoint to one
//! witness (`POST <url>/add-checkpoint`) with a consistency proof from the
//! size the witness holds, learns that size from a 409, and returns the
//! witness's verified cosignature line.

use std::time::Duration;

use super::protocol::{format_add_checkpoint, parse_cosignature_response, parse_size_response};
use crate::tlog::{CosignatureVerifier, Hash};

/// One configured witness.
pub struct WitnessClient {
    pub verifier: CosignatureVerifier,
    url: String,
    http: reqwest::blocking::Client,
    /// The size the witness last held for this log, when known.
    known_size: Option<u64>,
}

impl WitnessClient {
    pub fn new(verifier: CosignatureVerifier, url: &str) -> Result<Self, String> {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(WitnessClient {
            verifier,
            url: format!("{}/add-checkpoint", url.trim_end_matches('/')),
            http,
            known_size: None,
        })
    }

    pub fn name(&self) -> &str {
        self.verifier.name()
    }

    /// The size the witness holds, when known.
    pub fn known_size(&self) -> Option<u64> {
        self.known_size
    }

    /// Submits the checkpoint `note` (of `size` leaves, body `text`);
    /// `proof(old)` gives the consistency proof from `old`. Returns the
    /// cosignature line (without newline) once the witness cosigned.
    pub fn submit(
        &mut self,
        note: &str,
        text: &str,
        size: u64,
        mut proof: impl FnMut(u64) -> Result<Vec<Hash>, String>,
    ) -> Result<String, String> {
        // At most twice: a 409 tells us the witness's size, then we retry from it.
        for _ in 0..2 {
            let old = self.known_size.unwrap_or(0).min(size);
            let body = format_add_checkpoint(old, &proof(old)?, note);
            let response = self
                .http
                .post(&self.url)
                .body(body)
                .send()
                .map_err(|e| format!("{}: {e}", self.url))?;
            let status = response.status().as_u16();
            let text_body = response.text().unwrap_or_default();
            match status {
                200 => {
                    let sig = parse_cosignature_response(&text_body, text, &self.verifier)?;
                    self.known_size = Some(size);
                    return Ok(sig.to_line().trim_end().to_string());
                }
                409 => {
                    let held = parse_size_response(&text_body).ok_or_else(|| format!("409 without a size: {text_body:.200}"))?;
                    if held > size {
                        self.known_size = Some(held);
                        return Err(format!("the witness holds size {held}, more than this checkpoint's {size}"));
                    }
                    self.known_size = Some(held);
                }
                other => return Err(format!("{other}: {}", text_body.chars().take(300).collect::<String>())),
            }
        }
        Err("the witness kept answering 409".into())
    }
}
