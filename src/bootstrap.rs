//! Development mode: a generated signing secret and a first admin account,
//! so that `cargo run` works with nothing configured.

use std::path::Path;

use diesel::pg::PgConnection;

use crate::config::{Config, Environment, MIN_SECRET_BYTES, Secret};
use crate::db::cluster::write_private;
use crate::error::{AppError, AppResult};
use crate::model::digest::random_hex;
use crate::model::{Role, SYSTEM_ACTOR, Username};
use crate::store::editors::{self, NewEditor};

/// The configured secret, or in development one generated once into
/// `<data_dir>/jwt-secret` (0600) and reused after.
pub fn signing_secret(config: &Config) -> AppResult<Secret> {
    if let Some(secret) = &config.jwt.secret {
        return Ok(secret.clone());
    }
    if config.env == Environment::Production {
        return Err(AppError::internal("CLAIMLEDGER_JWT_SECRET is required in production"));
    }
    std::fs::create_dir_all(&config.data_dir).map_err(AppError::internal)?;
    let path = config.data_dir.join("jwt-secret");
    if let Ok(existing) = std::fs::read_to_string(&path)
        && existing.trim().len() >= MIN_SECRET_BYTES
    {
        return Ok(Secret::new(existing.trim().as_bytes().to_vec()));
    }
    let secret = random_hex(32);
    write_private(&path, &secret).map_err(AppError::internal)?;
    tracing::info!(path = %path.display(), "generated a development signing secret");
    Ok(Secret::new(secret.into_bytes()))
}

/// The log's checkpoint signer: the configured key file, or in development
/// one generated once into `<data_dir>/log-signing-key` (0600, with its
/// verifier key beside it in `log-signing-key.pub`) and reused after.
pub fn log_signing(config: &Config) -> AppResult<crate::store::checkpoints::LogSigning> {
    use crate::tlog::NoteSigner;
    let settings = &config.log;
    let (path, generated) = match &settings.signing_key_file {
        Some(path) => (path.clone(), false),
        None if config.env == Environment::Production => {
            return Err(AppError::internal("CLAIMLEDGER_LOG_SIGNING_KEY_FILE is required in production"));
        }
        None => {
            std::fs::create_dir_all(&config.data_dir).map_err(AppError::internal)?;
            let path = config.data_dir.join("log-signing-key");
            if !path.exists() {
                // Written aside and linked into place: servers starting together agree on one key.
                let signer = NoteSigner::generate(&settings.origin).map_err(AppError::internal)?;
                let aside = config
                    .data_dir
                    .join(format!("log-signing-key.{}.{}", std::process::id(), random_hex(4)));
                write_private(&aside, &signer.private_key_text()).map_err(AppError::internal)?;
                let linked = std::fs::hard_link(&aside, &path);
                let _ = std::fs::remove_file(&aside);
                match linked {
                    Ok(()) => {
                        let _ = std::fs::write(config.data_dir.join("log-signing-key.pub"), signer.verifier().vkey() + "\n");
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                    Err(e) => return Err(AppError::internal(e)),
                }
            }
            (path, true)
        }
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| AppError::internal(format!("CLAIMLEDGER_LOG_SIGNING_KEY_FILE: cannot read '{}': {e}", path.display())))?;
    let signer = NoteSigner::from_private_key_text(text.trim())
        .map_err(|e| AppError::internal(format!("'{}' is not a signed-note private key: {e}", path.display())))?;
    if generated {
        tracing::info!(path = %path.display(), key = %signer.verifier().vkey(), "using a development log signing key");
    }
    Ok(crate::store::checkpoints::LogSigning {
        origin: settings.origin.clone(),
        signer,
        interval: settings.checkpoint_interval,
    })
}

/// The log's verifier key for `claimledger verify`, without generating one:
/// from the configured key file, else the development key in the data
/// directory if there is one, else none (signatures then go unchecked).
pub fn log_verifier(config: &Config) -> Result<Option<crate::tlog::NoteVerifier>, String> {
    let path = match &config.log.signing_key_file {
        Some(p) => p.clone(),
        None => config.data_dir.join("log-signing-key"),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => crate::tlog::NoteSigner::from_private_key_text(text.trim())
            .map(|s| Some(s.verifier()))
            .map_err(|e| format!("'{}' is not a signed-note private key: {e}", path.display())),
        Err(_) if config.log.signing_key_file.is_none() => Ok(None),
        Err(e) => Err(format!("cannot read '{}': {e}", path.display())),
    }
}

/// On a database where nobody can log in, creates `admin` (every role) with
/// a generated password, printed once and kept in `<data_dir>/admin-password`.
/// Returns that file's path when it created the account (the caller prints
/// how to get a token once it knows the address it bound).
pub fn first_admin(conn: &mut PgConnection, data_dir: &Path) -> AppResult<Option<std::path::PathBuf>> {
    if editors::any_login_account(conn)? {
        return Ok(None);
    }
    let password = crate::auth::password::generate_password();
    let hash = crate::auth::password::hash_password(&password)?;
    // The file first: an account whose password was never written down would be lost.
    std::fs::create_dir_all(data_dir).map_err(AppError::internal)?;
    let path = data_dir.join("admin-password");
    write_private(&path, &password).map_err(AppError::internal)?;
    let created = editors::create(
        conn,
        SYSTEM_ACTOR,
        NewEditor {
            username: Username::parse("admin").map_err(|e| AppError::internal(e.message))?,
            display_name: "Administrator".into(),
            roles: Role::ALL.to_vec(),
            password_hash: Some(hash),
        },
        Some("first start: development admin account"),
    );
    if let Err(e) = created {
        let _ = std::fs::remove_file(&path);
        return Err(e);
    }
    crate::store::sequencer::settle(conn, std::time::Duration::from_secs(60))?;
    // Printed once, to the terminal, not to the logs.
    println!(
        "\nCreated the account 'admin' (roles: editor, reviewer, auditor, admin).\n\
         Its password (shown once; also kept in {}, mode 0600):\n\n  {}\n",
        path.display(),
        password,
    );
    Ok(Some(path))
}

/// How to get a token for the first admin, at the address actually bound.
pub fn token_hint(base_url: &str, password_file: &Path) -> String {
    format!(
        "Get a token with:\n\
         \n  curl -s -X POST {base_url}/v1/auth/token -H 'content-type: application/json' \\\n    -d \"{{\\\"username\\\":\\\"admin\\\",\\\"password\\\":\\\"$(cat {})\\\"}}\"\n",
        password_file.display()
    )
}
