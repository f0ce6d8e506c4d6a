//! Command line for the transparency tools (DESIGN §8), flattened into the main CLI:
//! - `claimledger log keygen --name NAME --out F` writes F (private key text, mode 0600) and
//!   F.pub (the vkey);
//! - `claimledger witness serve --bind ADDR --key-file F --log-key VKEY [--log-key …] [--data-dir D]`;
//! - `claimledger witness vkey --key-file F` prints the witness's cosignature vkey (type 0x04),
//!   the key logs list in `CLAIMLEDGER_WITNESSES`.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use clap::{Args, Subcommand};

use crate::tlog::cosignature::Cosigner;
use crate::tlog::keys::{NoteSigner, NoteVerifier};

use super::core::Witness;
use super::server::WitnessServer;

type CliResult = Result<(), Box<dyn std::error::Error>>;

/// Flattened into the main `Command` enum: adds the `log` and `witness` commands.
#[derive(Subcommand, Debug)]
pub enum TlogCommand {
    /// Transparency log tools.
    #[command(subcommand)]
    Log(LogCommand),
    /// A C2SP tlog-witness that cosigns checkpoints of the logs it follows.
    #[command(subcommand)]
    Witness(WitnessCommand),
}

#[derive(Subcommand, Debug)]
pub enum LogCommand {
    /// Generate an Ed25519 signed-note key pair: F (private key text) and F.pub (vkey).
    Keygen {
        /// Key name; for a log, its origin (e.g. factcheck.example.org/log).
        #[arg(long)]
        name: String,
        /// Private key file to create (refuses to overwrite); the vkey goes to F.pub.
        #[arg(long)]
        out: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
pub enum WitnessCommand {
    /// Serve POST /add-checkpoint (C2SP tlog-witness).
    Serve(ServeArgs),
    /// Print this witness's cosignature verifier key (vkey type 0x04).
    Vkey {
        #[arg(long)]
        key_file: PathBuf,
    },
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8090")]
    pub bind: String,
    /// The witness's private key text (PRIVATE+KEY+<name>+…), e.g. from `claimledger log keygen`.
    #[arg(long)]
    pub key_file: PathBuf,
    /// A log's vkey (<origin>+<hex8>+<base64>); repeat for more logs or rotated keys.
    #[arg(long = "log-key", required = true)]
    pub log_keys: Vec<String>,
    /// Where the witness keeps its state.
    #[arg(long, default_value = ".claimledger-witness")]
    pub data_dir: PathBuf,
}

pub fn run(command: TlogCommand) -> CliResult {
    match command {
        TlogCommand::Log(LogCommand::Keygen { name, out }) => keygen(&name, &out),
        TlogCommand::Witness(WitnessCommand::Vkey { key_file }) => {
            println!("{}", Cosigner::new(&read_key_file(&key_file)?).verifier().vkey());
            Ok(())
        }
        TlogCommand::Witness(WitnessCommand::Serve(args)) => serve(args),
    }
}

fn pub_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".pub");
    PathBuf::from(name)
}

/// Creates `path` with `contents`, failing if it exists; `private` files are mode 0600.
fn create_new(path: &Path, contents: &str, private: bool) -> std::io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if private {
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    }
    let mut f = options.open(path)?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()
}

fn keygen(name: &str, out: &Path) -> CliResult {
    let signer = NoteSigner::generate(name)?;
    let public = pub_path(out);
    if public.exists() {
        return Err(format!("{} already exists; not overwriting", public.display()).into());
    }
    create_new(out, &format!("{}\n", signer.private_key_text()), true)
        .map_err(|e| format!("cannot create {}: {e} (an existing key is never overwritten)", out.display()))?;
    let vkey = signer.verifier().vkey();
    create_new(&public, &format!("{vkey}\n"), false).map_err(|e| format!("cannot create {}: {e}", public.display()))?;
    eprintln!("wrote {} (private, keep secret) and {}", out.display(), public.display());
    println!("{vkey}");
    Ok(())
}

/// Reads a private key file, warning when others can read it.
pub fn read_key_file(path: &Path) -> Result<NoteSigner, Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read key file {}: {e}", path.display()))?;
    #[cfg(unix)]
    if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(path = %path.display(), "the private key file is readable by other users; chmod 600 it");
        }
    }
    NoteSigner::from_private_key_text(&text).map_err(|e| format!("key file {}: {e}", path.display()).into())
}

fn serve(args: ServeArgs) -> CliResult {
    let signer = read_key_file(&args.key_file)?;
    let log_keys = args
        .log_keys
        .iter()
        .map(|k| NoteVerifier::from_vkey(k).map_err(|e| format!("--log-key '{k}': {e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let witness = Arc::new(Witness::open(&signer, log_keys, &args.data_dir)?);
    tracing::info!(
        name = witness.name(),
        vkey = %witness.verifier().vkey(),
        data_dir = %args.data_dir.display(),
        "witness state loaded"
    );
    for (origin, size) in witness.logs() {
        tracing::info!(origin, size, "following log");
    }
    actix_web::rt::System::new().block_on(async move {
        let server = WitnessServer::build(witness, &args.bind)?;
        tracing::info!("claimledger witness listening on http://{}", server.addr());
        server.run_until_stopped().await
    })?;
    Ok(())
}
