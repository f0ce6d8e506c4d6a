//! The witness itself, without HTTP: the logs it follows, their state, and `add-checkpoint`.
//!
//! Per log, checking `old` against the stored size and persisting the new checkpoint happen
//! under one lock, so two concurrent requests cannot roll the state back (tlog-witness).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard};

use crate::tlog::checkpoint::SignedCheckpoint;
use crate::tlog::cosignature::{CosignatureVerifier, Cosigner, timestamp_of};
use crate::tlog::keys::{NoteSigner, NoteVerifier};
use crate::tlog::note::SignedNote;

use super::protocol::{Refusal, check_consistency, parse_add_checkpoint, verify_log_signature};
use super::store::{Store, StoreError, origin_hash};

/// Why `add-checkpoint` did not produce a cosignature.
#[derive(Debug, thiserror::Error)]
pub enum AddError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// 500: the witness could not store its new state, so it does not cosign.
    #[error("could not store the witness state: {0}")]
    Storage(String),
}

/// Why the witness could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("no log keys configured: pass at least one --log-key")]
    NoLogs,
    #[error(transparent)]
    Store(#[from] StoreError),
}

struct LogSlot {
    keys: Vec<NoteVerifier>,
    state: Mutex<Option<SignedCheckpoint>>,
}

pub struct Witness {
    cosigner: Cosigner,
    store: Store,
    /// By origin (= the log keys' name).
    logs: BTreeMap<String, LogSlot>,
}

impl Witness {
    /// A witness for the logs of `log_keys` (several keys with one name: one log, key
    /// rotation), its state loaded from `data_dir`.
    pub fn open(signer: &NoteSigner, log_keys: Vec<NoteVerifier>, data_dir: &Path) -> Result<Self, StartError> {
        if log_keys.is_empty() {
            return Err(StartError::NoLogs);
        }
        let store = Store::open(data_dir)?;
        let mut logs: BTreeMap<String, LogSlot> = BTreeMap::new();
        for key in log_keys {
            match logs.get_mut(key.name()) {
                Some(slot) => slot.keys.push(key),
                None => {
                    let state = store.load(key.name())?;
                    let origin = key.name().to_string();
                    logs.insert(
                        origin,
                        LogSlot {
                            keys: vec![key],
                            state: Mutex::new(state),
                        },
                    );
                }
            }
        }
        Ok(Witness {
            cosigner: Cosigner::new(signer),
            store,
            logs,
        })
    }

    pub fn name(&self) -> &str {
        self.cosigner.name()
    }

    /// The cosignature verifier key (vkey type 0x04) logs configure for this witness.
    pub fn verifier(&self) -> CosignatureVerifier {
        self.cosigner.verifier()
    }

    /// Origins followed, with the size last cosigned (0: never).
    pub fn logs(&self) -> Vec<(String, u64)> {
        self.logs
            .iter()
            .map(|(origin, slot)| (origin.clone(), self.lock(origin, slot).as_ref().map_or(0, |s| s.checkpoint.size())))
            .collect()
    }

    /// Locks a log's state. After a panic under the lock, memory may lag the disk: reload.
    fn lock<'a>(&self, origin: &str, slot: &'a LogSlot) -> MutexGuard<'a, Option<SignedCheckpoint>> {
        match slot.state.lock() {
            Ok(g) => g,
            Err(poisoned) => {
                let mut g = poisoned.into_inner();
                match self.store.load(origin) {
                    Ok(state) => *g = state,
                    Err(e) => tracing::error!(origin, error = %e, "reloading witness state after a panic failed"),
                }
                slot.state.clear_poison();
                g
            }
        }
    }

    /// The C2SP `add-checkpoint` call: on success, the cosignature line(s) to return,
    /// after the new state is stored durably. `now` is the POSIX time of the cosignature.
    pub fn add_checkpoint(&self, body: &[u8], now: u64) -> Result<String, AddError> {
        let req = parse_add_checkpoint(body)?;
        let origin = req.checkpoint.checkpoint.origin().to_string();
        let slot = self
            .logs
            .get(&origin)
            .ok_or_else(|| Refusal::UnknownLog(origin.chars().take(200).collect()))?;
        let log_sigs = verify_log_signature(&req, &slot.keys)?;

        let mut state = self.lock(&origin, slot);
        let held = state.as_ref().map(|s| &s.checkpoint);
        if let Err(refusal) = check_consistency(&req, held) {
            if refusal.is_possible_fork() {
                let evidence = self
                    .store
                    .save_evidence(&origin, now, &refusal.to_string(), body, state.as_ref().map(|s| s.note.text()));
                tracing::error!(
                    origin,
                    held_size = held.map_or(0, |h| h.size()),
                    held_root = %held.map(|h| h.root().to_base64()).unwrap_or_default(),
                    offered_size = req.checkpoint.checkpoint.size(),
                    offered_root = %req.checkpoint.checkpoint.root(),
                    evidence = ?evidence.as_ref().map(|p| p.display().to_string()).map_err(|e| e.to_string()),
                    "REFUSED a validly signed checkpoint that is not consistent with this witness's view: possible log fork ({refusal})"
                );
            } else {
                tracing::info!(origin, status = refusal.status(), "refused: {refusal}");
            }
            return Err(refusal.into());
        }

        let text = req.checkpoint.note.text();
        // Never date a cosignature before the previous one, even if the clock stepped back.
        let previous = state.as_ref().and_then(|s| {
            let ours = s
                .note
                .signatures()
                .iter()
                .find(|sig| sig.name == self.cosigner.name() && sig.key_id == self.cosigner.key_id())?;
            timestamp_of(&ours.signature)
        });
        let cosig = self
            .cosigner
            .cosign(text, now.max(previous.unwrap_or(0)))
            .map_err(|e| AddError::Storage(format!("cosigning failed: {e}")))?;
        // What the monitoring endpoint serves: the log's verified signatures and ours.
        let mut stored = SignedNote::new(text).map_err(|e| AddError::Storage(e.to_string()))?;
        for sig in log_sigs.into_iter().chain(std::iter::once(cosig.clone())) {
            stored.add_signature(sig).map_err(|e| AddError::Storage(e.to_string()))?;
        }
        let stored_text = stored.to_text();
        self.store.save(&origin, &stored_text).map_err(|e| {
            tracing::error!(origin, error = %e, "could not persist witness state; not cosigning");
            AddError::Storage(e.to_string())
        })?;
        let size = req.checkpoint.checkpoint.size();
        *state = Some(SignedCheckpoint {
            checkpoint: req.checkpoint.checkpoint,
            note: stored,
        });
        drop(state);
        tracing::info!(origin, size, old = req.old_size, "cosigned");
        Ok(cosig.to_line())
    }

    /// The latest cosigned checkpoint of the log whose origin hashes to `hash` (monitoring API).
    pub fn checkpoint_by_origin_hash(&self, hash: &str) -> Option<String> {
        let (origin, slot) = self.logs.iter().find(|(origin, _)| origin_hash(origin) == hash)?;
        self.lock(origin, slot).as_ref().map(|s| s.note.to_text())
    }
}
