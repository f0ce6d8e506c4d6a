//! `/log`: the log's current signed checkpoint, its cosignatures, the
//! verifier key, and how to check the log offline with no code of ours.

use actix_web::web::Bytes;
use actix_web::{HttpRequest, HttpResponse, web};

use super::{BUILD, HTML, cacheable, render};
use crate::error::AppResult;
use crate::http::{AppState, with_conn};
use crate::store;
use crate::tlog::checkpoint::Checkpoint;
use crate::tlog::keys::NoteVerifier;
use crate::tlog::note::{NoteKey, SignedNote};

/// A signed checkpoint as the page shows it.
#[derive(Debug, PartialEq)]
pub struct CheckpointView {
    pub origin: String,
    pub size: u64,
    /// Base64, as in the note.
    pub root: String,
    /// The whole signed note, as served at /v1/log/checkpoint.
    pub note: String,
    pub signatures: Vec<SignatureView>,
}

#[derive(Debug, PartialEq)]
pub struct SignatureView {
    pub name: String,
    /// Hex, as in a vkey.
    pub key_id: String,
    /// "log key, verified here", "log key, does not verify", or "cosigner".
    pub role: &'static str,
}

impl CheckpointView {
    /// Reads a signed checkpoint note; with the log's vkey, says which
    /// signature is the log's and whether it verifies (the others are
    /// witnesses' cosignatures). None when the note does not parse.
    pub fn from_note(note: &str, vkey: Option<&str>) -> Option<CheckpointView> {
        let signed = SignedNote::parse(note.as_bytes()).ok()?;
        let checkpoint = Checkpoint::parse(signed.text()).ok()?;
        let verifier = vkey.and_then(|v| NoteVerifier::from_vkey(v).ok());
        let signatures = signed
            .signatures()
            .iter()
            .map(|s| {
                let role = match &verifier {
                    Some(v) if v.name() == s.name && NoteKey::key_id(v) == s.key_id => {
                        if NoteKey::verify(v, signed.text().as_bytes(), &s.signature) {
                            "log key, verified here"
                        } else {
                            "log key, does not verify"
                        }
                    }
                    _ => "cosigner",
                };
                SignatureView {
                    name: s.name.clone(),
                    key_id: format!("{:08x}", s.key_id),
                    role,
                }
            })
            .collect();
        Some(CheckpointView {
            origin: checkpoint.origin().to_string(),
            size: checkpoint.size(),
            root: checkpoint.root().to_base64(),
            note: note.to_string(),
            signatures,
        })
    }
}

#[derive(askama::Template)]
#[template(path = "log.html")]
pub struct LogPage<'a> {
    pub site: &'a str,
    pub title: String,
    pub canonical: String,
    pub base_url: &'a str,
    pub checkpoint: Option<CheckpointView>,
    pub vkey: Option<String>,
}

/// The checkpoint `/v1/log/checkpoint` serves (the quorum's newest, with
/// its cosignatures) and the log's vkey; no checkpoint before the first is
/// signed.
async fn transparency(state: &web::Data<AppState>) -> AppResult<(Option<String>, Option<String>)> {
    let quorum = state.config.log.witness_quorum;
    let note = with_conn(state, move |conn| store::checkpoints::latest(conn, quorum)).await?;
    Ok((note, Some(state.log_key.vkey())))
}

/// `/log`.
pub async fn page(state: web::Data<AppState>, req: HttpRequest) -> AppResult<HttpResponse> {
    let (note, vkey) = transparency(&state).await?;
    let checkpoint = note.as_deref().and_then(|n| CheckpointView::from_note(n, vkey.as_deref()));
    let etag = format!("\"lg-{}-{BUILD}\"", checkpoint.as_ref().map_or(0, |c| c.size));
    let site = &state.config.public.org_name;
    let html = render(&LogPage {
        site,
        title: format!("The log — {site}"),
        canonical: format!("{}/log", state.config.public.base_url),
        base_url: &state.config.public.base_url,
        checkpoint,
        vkey,
    })?;
    cacheable(&req, &state, etag, HTML, Bytes::from(html))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tlog::hash::Hash;
    use crate::tlog::keys::NoteSigner;

    fn page(checkpoint: Option<CheckpointView>, vkey: Option<String>) -> String {
        render(&LogPage {
            site: "Test Org",
            title: "The log".into(),
            canonical: "http://x/log".into(),
            base_url: "http://x",
            checkpoint,
            vkey,
        })
        .unwrap()
    }

    #[test]
    fn a_signed_checkpoint_is_shown_with_its_signatures_checked() {
        let log = NoteSigner::from_seed("example.org/log", [7; 32]).unwrap();
        let witness = NoteSigner::from_seed("witness.example", [9; 32]).unwrap();
        let cp = Checkpoint::new("example.org/log", 42, Hash([3; 32])).unwrap();
        let mut note = cp.sign(&log).unwrap();
        note.sign(&witness).unwrap();
        let text = note.to_text();
        let vkey = log.verifier().vkey();
        let view = CheckpointView::from_note(&text, Some(&vkey)).unwrap();
        assert_eq!((view.origin.as_str(), view.size), ("example.org/log", 42));
        assert_eq!(view.root, Hash([3; 32]).to_base64());
        let roles: Vec<&str> = view.signatures.iter().map(|s| s.role).collect();
        assert_eq!(roles, ["log key, verified here", "cosigner"]);
        // Another key of the same name does not verify it.
        let impostor = NoteSigner::from_seed("example.org/log", [8; 32]).unwrap().verifier().vkey();
        let view2 = CheckpointView::from_note(&text, Some(&impostor)).unwrap();
        assert!(view2.signatures.iter().all(|s| s.role == "cosigner"), "{view2:?}");
        let html = page(Some(view), Some(vkey.clone()));
        assert!(
            html.contains("42") && html.contains(&vkey) && html.contains("witness.example"),
            "{html}"
        );
        assert!(!html.contains("No checkpoint yet"));
        assert!(CheckpointView::from_note("not a note", None).is_none());
    }

    #[test]
    fn without_a_checkpoint_the_page_says_so() {
        let html = page(None, None);
        assert!(html.contains("No checkpoint yet"), "{html}");
    }
}
