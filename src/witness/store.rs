//! The witness's durable state: per log, the latest cosigned checkpoint note, in
//! `<data dir>/logs/<hex SHA-256 of the origin>`, replaced atomically and durably
//! (temporary file, fsync, rename, fsync of the directory) before the witness answers.
//! Refused checkpoints that may show log misbehaviour are kept under `<data dir>/evidence/`.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::tlog::checkpoint::SignedCheckpoint;

/// Hex SHA-256 of an origin: the state file's name and the monitoring path segment.
pub fn origin_hash(origin: &str) -> String {
    hex::encode(Sha256::digest(origin.as_bytes()))
}

/// Why stored state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: io::Error },
    #[error("{path}: stored checkpoint is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
}

#[derive(Debug, Clone)]
pub struct Store {
    logs: PathBuf,
    evidence: PathBuf,
}

fn io_at(path: &Path) -> impl FnOnce(io::Error) -> StoreError + '_ {
    move |source| StoreError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn create_private_dir(path: &Path) -> Result<(), StoreError> {
    let mut b = fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
    b.create(path).map_err(io_at(path))
}

/// Writes `bytes` to `path` so that after a crash the file holds either the old or the new
/// content, never a mix, and the new content survives once this returns.
pub fn write_durably(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().ok_or_else(|| io::Error::other("path has no directory"))?;
    let name = path.file_name().ok_or_else(|| io::Error::other("path has no file name"))?;
    let tmp = dir.join(format!(".{}.tmp", name.to_string_lossy()));
    {
        let mut f = OpenOptions::new().write(true).create(true).truncate(true).open(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

impl Store {
    /// Opens (creating) the state directories under `data_dir`.
    pub fn open(data_dir: &Path) -> Result<Self, StoreError> {
        let store = Store {
            logs: data_dir.join("logs"),
            evidence: data_dir.join("evidence"),
        };
        create_private_dir(&store.logs)?;
        create_private_dir(&store.evidence)?;
        Ok(store)
    }

    fn path(&self, origin: &str) -> PathBuf {
        self.logs.join(origin_hash(origin))
    }

    /// The latest cosigned checkpoint of `origin`, if the witness ever cosigned one.
    pub fn load(&self, origin: &str) -> Result<Option<SignedCheckpoint>, StoreError> {
        let path = self.path(origin);
        let bytes = match fs::read(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_at(&path)(e)),
        };
        let damaged = |reason: String| StoreError::Damaged {
            path: path.clone(),
            reason,
        };
        let signed = SignedCheckpoint::parse(&bytes).map_err(|e| damaged(e.to_string()))?;
        if signed.checkpoint.origin() != origin {
            return Err(damaged(format!("it is for origin '{}'", signed.checkpoint.origin())));
        }
        Ok(Some(signed))
    }

    /// Replaces the stored checkpoint of `origin`, durably.
    pub fn save(&self, origin: &str, note_text: &str) -> Result<(), StoreError> {
        let path = self.path(origin);
        write_durably(&path, note_text.as_bytes()).map_err(io_at(&path))
    }

    /// Keeps a refused request and the witness's view for later inspection.
    pub fn save_evidence(&self, origin: &str, now: u64, why: &str, request: &[u8], held: Option<&str>) -> Result<PathBuf, StoreError> {
        static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = self
            .evidence
            .join(format!("{}-{now}-{}-{n}.txt", origin_hash(origin), std::process::id()));
        let mut text = format!("origin: {origin}\nunix time: {now}\nrefused: {why}\n\n--- witness's checkpoint ---\n");
        text.push_str(held.unwrap_or("(none)\n"));
        text.push_str("\n--- request body ---\n");
        text.push_str(&String::from_utf8_lossy(request));
        write_durably(&path, text.as_bytes()).map_err(io_at(&path))?;
        Ok(path)
    }
}
