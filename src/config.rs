//! Configuration: environment variables only, parsed and checked once at start.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

/// A configuration value that is wrong, naming the variable.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    pub var: &'static str,
    pub message: String,
}

fn bad(var: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError {
        var,
        message: message.into(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Environment {
    Development,
    Production,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

/// Bytes that must never be printed.
#[derive(Clone)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: Vec<u8>) -> Self {
        Secret(bytes)
    }
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone, Debug)]
pub struct DbSettings {
    pub pool_size: u32,
    pub connect_timeout: Duration,
    pub statement_timeout: Duration,
}

#[derive(Clone, Debug)]
pub struct JwtSettings {
    /// HS256 key. `None` in development: generated into the data directory.
    pub secret: Option<Secret>,
    pub issuer: String,
    pub audience: String,
    pub ttl: Duration,
    /// PEM of an external identity provider's Ed25519 public key (optional).
    pub eddsa_public_key_pem: Option<String>,
}

#[derive(Clone, Debug)]
pub struct PublicSettings {
    /// Base URL under which downstream sites reach this service (ClaimReview `url`).
    pub base_url: String,
    pub org_name: String,
    pub org_url: Option<String>,
    pub cache_max_age: u32,
    /// Memory for public reads kept in memory, MiB.
    pub cache_max_mb: usize,
    /// Fill memory with the newest published fact checks at start.
    pub cache_fill: bool,
}

impl PublicSettings {
    /// What ClaimReview rendering needs to know.
    pub fn publisher(&self) -> crate::model::factcheck::Publisher {
        crate::model::factcheck::Publisher {
            base_url: self.base_url.clone(),
            org_name: self.org_name.clone(),
            org_url: self.org_url.clone(),
        }
    }
}

/// The transparency log (issue 14, DESIGN §8).
#[derive(Clone, Debug)]
pub struct LogSettings {
    /// The checkpoint origin, also the signing key's name.
    pub origin: String,
    /// The signed-note private key (`PRIVATE+KEY+…`). `None` in development:
    /// generated into the data directory.
    pub signing_key_file: Option<PathBuf>,
    /// At most one checkpoint per interval.
    pub checkpoint_interval: Duration,
    /// Witnesses the log submits its checkpoints to: (cosignature vkey, base URL).
    pub witnesses: Vec<(String, String)>,
    /// Serve the newest checkpoint cosigned by at least this many witnesses (0: the newest).
    pub witness_quorum: usize,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub env: Environment,
    pub bind: SocketAddr,
    /// `None`: run a private PostgreSQL cluster under `data_dir`.
    pub database_url: Option<String>,
    pub data_dir: PathBuf,
    pub db: DbSettings,
    pub jwt: JwtSettings,
    pub workers: usize,
    pub log_format: LogFormat,
    pub public: PublicSettings,
    pub seed_on_empty: bool,
    /// How long a write waits for its revisions to be sequenced before it
    /// answers 503 (committed, not yet in the log).
    pub write_wait: Duration,
    /// How often the sequencer looks for writes made on other servers.
    pub sequencer_poll: Duration,
    /// Whether this server may sequence the log (one does at a time).
    pub sequencer: bool,
    /// A streaming standby for public and audit reads.
    pub replica_url: Option<String>,
    /// Checkpoints: origin, signing key, interval.
    pub log: LogSettings,
    /// A standby further behind than this is not read from.
    pub replica_max_lag: Duration,
    pub webhooks: WebhookSettings,
    pub stream: StreamSettings,
}

/// Push to subscribers: webhooks.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// Whether loopback, private and link-local targets are allowed (development, tests).
    pub allow_private: bool,
    /// Whether this server may run the delivery worker (one delivers at a time).
    pub worker: bool,
    /// Per attempt: connect, send, answer.
    pub timeout: Duration,
    /// Waits after the 1st, 2nd, … failure of an event; the last repeats.
    pub retry_schedule: Vec<Duration>,
    /// A subscription failing this long is disabled.
    pub disable_after: Duration,
    /// How long a rotated-out secret keeps signing beside the new one.
    pub secret_grace: Duration,
    /// Subscriptions served at once.
    pub concurrency: usize,
}

/// Push to subscribers: the live stream (Server-Sent Events).
#[derive(Clone, Debug)]
pub struct StreamSettings {
    /// Concurrent streams per server; more are answered 503 + Retry-After.
    pub max_clients: usize,
    /// A comment line after this much silence keeps proxies from closing the stream.
    pub heartbeat: Duration,
}

/// The Standard Webhooks retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), in ms.
const DEFAULT_RETRY_MS: &str = "5000,300000,1800000,7200000,18000000,36000000,36000000";

fn flag(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: bool) -> Result<bool, ConfigError> {
    match get(var).as_deref() {
        None => Ok(default),
        Some("true") | Some("1") => Ok(true),
        Some("false") | Some("0") => Ok(false),
        Some(other) => Err(bad(var, format!("expected true or false, got '{other}'"))),
    }
}

fn schedule(get: &impl Fn(&str) -> Option<String>, var: &'static str) -> Result<Vec<Duration>, ConfigError> {
    let text = get(var).unwrap_or_else(|| DEFAULT_RETRY_MS.into());
    let steps: Vec<Duration> = text
        .split(',')
        .map(|s| {
            s.trim()
                .parse::<u64>()
                .ok()
                .filter(|ms| (1..=86_400_000).contains(ms))
                .map(Duration::from_millis)
        })
        .collect::<Option<_>>()
        .ok_or_else(|| {
            bad(
                var,
                format!("expected comma-separated milliseconds (1–86400000 each), got '{text}'"),
            )
        })?;
    if steps.is_empty() || steps.len() > 50 {
        return Err(bad(var, "expected 1–50 steps"));
    }
    Ok(steps)
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_vars(std::env::vars().collect())
    }

    /// Parses a set of variables; every variable is checked even when the
    /// service would not need it yet, so a typo fails at start, not at 3 a.m.
    pub fn from_vars(vars: HashMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| vars.get(k).map(|v| v.trim().to_string()).filter(|v| !v.is_empty());

        let env = match get("CLAIMLEDGER_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("production") => Environment::Production,
            Some(other) => {
                return Err(bad(
                    "CLAIMLEDGER_ENV",
                    format!("expected 'development' or 'production', got '{other}'"),
                ));
            }
        };
        let bind_text = get("CLAIMLEDGER_BIND").unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_text.parse().map_err(|_| {
            bad(
                "CLAIMLEDGER_BIND",
                format!("expected host:port such as 127.0.0.1:8080, got '{bind_text}'"),
            )
        })?;

        let database_url = get("DATABASE_URL");
        if let Some(url) = &database_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(bad("DATABASE_URL", "expected a postgres:// or postgresql:// URL"));
        }
        let replica_url = get("CLAIMLEDGER_REPLICA_URL");
        if let Some(url) = &replica_url
            && !(url.starts_with("postgres://") || url.starts_with("postgresql://"))
        {
            return Err(bad("CLAIMLEDGER_REPLICA_URL", "expected a postgres:// or postgresql:// URL"));
        }
        let secret = match get("CLAIMLEDGER_JWT_SECRET") {
            Some(s) if s.len() < MIN_SECRET_BYTES => {
                return Err(bad(
                    "CLAIMLEDGER_JWT_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes, got {}", s.len()),
                ));
            }
            Some(s) => Some(Secret::new(s.into_bytes())),
            None => None,
        };
        if env == Environment::Production {
            if database_url.is_none() {
                return Err(bad("DATABASE_URL", "required when CLAIMLEDGER_ENV=production"));
            }
            if secret.is_none() {
                return Err(bad("CLAIMLEDGER_JWT_SECRET", "required when CLAIMLEDGER_ENV=production"));
            }
        }
        let eddsa_public_key_pem = match get("CLAIMLEDGER_JWT_EDDSA_PUBLIC_KEY_FILE") {
            Some(path) => Some(
                std::fs::read_to_string(&path)
                    .map_err(|e| bad("CLAIMLEDGER_JWT_EDDSA_PUBLIC_KEY_FILE", format!("cannot read '{path}': {e}")))?,
            ),
            None => None,
        };

        let default_workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2);
        let log_format = match get("CLAIMLEDGER_LOG_FORMAT").as_deref() {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => return Err(bad("CLAIMLEDGER_LOG_FORMAT", format!("expected 'text' or 'json', got '{other}'"))),
        };
        let seed_on_empty = match get("CLAIMLEDGER_SEED_ON_EMPTY").as_deref() {
            None | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(other) => return Err(bad("CLAIMLEDGER_SEED_ON_EMPTY", format!("expected true or false, got '{other}'"))),
        };
        let sequencer = match get("CLAIMLEDGER_SEQUENCER").as_deref() {
            None | Some("true") | Some("1") => true,
            Some("false") | Some("0") => false,
            Some(other) => return Err(bad("CLAIMLEDGER_SEQUENCER", format!("expected true or false, got '{other}'"))),
        };
        let base_url = get("CLAIMLEDGER_PUBLIC_URL").unwrap_or_else(|| format!("http://{bind}"));
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(bad("CLAIMLEDGER_PUBLIC_URL", "expected an http:// or https:// URL"));
        }

        let signing_key_file = get("CLAIMLEDGER_LOG_SIGNING_KEY_FILE").map(PathBuf::from);
        if signing_key_file.is_none() && env == Environment::Production {
            return Err(bad("CLAIMLEDGER_LOG_SIGNING_KEY_FILE", "required when CLAIMLEDGER_ENV=production"));
        }
        let origin = match get("CLAIMLEDGER_LOG_ORIGIN") {
            Some(o) => o,
            None => format!("{}/log", url_host(&base_url)),
        };
        if origin.is_empty() || origin.chars().any(|c| c == '+' || c.is_whitespace() || c.is_control()) {
            return Err(bad(
                "CLAIMLEDGER_LOG_ORIGIN",
                "expected a name without spaces or '+' (such as example.org/log)",
            ));
        }

        let mut witnesses = Vec::new();
        for part in get("CLAIMLEDGER_WITNESSES")
            .unwrap_or_default()
            .split(';')
            .map(str::trim)
            .filter(|p| !p.is_empty())
        {
            let mut words = part.split_whitespace();
            match (words.next(), words.next(), words.next()) {
                (Some(vkey), Some(url), None) if url.starts_with("http://") => witnesses.push((vkey.to_string(), url.to_string())),
                _ => {
                    return Err(bad(
                        "CLAIMLEDGER_WITNESSES",
                        format!(
                            "expected ';'-separated '<vkey> <http:// url>' pairs, got '{}'",
                            part.chars().take(200).collect::<String>()
                        ),
                    ));
                }
            }
        }
        let witness_quorum = number::<usize>(&get, "CLAIMLEDGER_WITNESS_QUORUM", 0, 0, 64)?;
        if witness_quorum > witnesses.len() {
            return Err(bad(
                "CLAIMLEDGER_WITNESS_QUORUM",
                format!("{witness_quorum} is more than the {} witnesses configured", witnesses.len()),
            ));
        }

        Ok(Config {
            env,
            bind,
            database_url,
            data_dir: PathBuf::from(get("CLAIMLEDGER_DATA_DIR").unwrap_or_else(|| ".claimledger".into())),
            db: DbSettings {
                pool_size: number(&get, "CLAIMLEDGER_DB_POOL_SIZE", 10, 1, 200)?,
                connect_timeout: Duration::from_millis(number(&get, "CLAIMLEDGER_DB_CONNECT_TIMEOUT_MS", 3000, 100, 5000)?),
                statement_timeout: Duration::from_millis(number(&get, "CLAIMLEDGER_DB_STATEMENT_TIMEOUT_MS", 10_000, 100, 600_000)?),
            },
            jwt: JwtSettings {
                secret,
                issuer: get("CLAIMLEDGER_JWT_ISSUER").unwrap_or_else(|| "claimledger".into()),
                audience: get("CLAIMLEDGER_JWT_AUDIENCE").unwrap_or_else(|| "claimledger-api".into()),
                ttl: Duration::from_secs(number(&get, "CLAIMLEDGER_TOKEN_TTL", 900, 60, 86_400)?),
                eddsa_public_key_pem,
            },
            workers: number::<usize>(&get, "CLAIMLEDGER_WORKERS", default_workers as u64, 1, 64)?,
            log_format,
            public: PublicSettings {
                base_url: base_url.trim_end_matches('/').to_string(),
                org_name: get("CLAIMLEDGER_ORG_NAME").unwrap_or_else(|| "claimledger".into()),
                org_url: get("CLAIMLEDGER_ORG_URL"),
                cache_max_age: number::<u32>(&get, "CLAIMLEDGER_CACHE_MAX_AGE", 60, 0, 86_400)?,
                cache_max_mb: number::<usize>(&get, "CLAIMLEDGER_CACHE_MAX_MB", 64, 1, 65_536)?,
                cache_fill: flag(&get, "CLAIMLEDGER_CACHE_FILL", true)?,
            },
            seed_on_empty,
            write_wait: Duration::from_millis(number(&get, "CLAIMLEDGER_WRITE_WAIT_MS", 5_000, 10, 60_000)?),
            sequencer_poll: Duration::from_millis(number(&get, "CLAIMLEDGER_SEQUENCER_POLL_MS", 5, 1, 1_000)?),
            sequencer,
            replica_url,
            replica_max_lag: Duration::from_millis(number(&get, "CLAIMLEDGER_REPLICA_MAX_LAG_MS", 1_000, 0, 600_000)?),
            log: LogSettings {
                origin,
                signing_key_file,
                checkpoint_interval: Duration::from_millis(number(&get, "CLAIMLEDGER_CHECKPOINT_INTERVAL_MS", 500, 10, 3_600_000)?),
                witnesses,
                witness_quorum,
            },
            webhooks: WebhookSettings {
                allow_private: flag(&get, "CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE", false)?,
                worker: flag(&get, "CLAIMLEDGER_WEBHOOKS_WORKER", true)?,
                timeout: Duration::from_millis(number(&get, "CLAIMLEDGER_WEBHOOKS_TIMEOUT_MS", 10_000, 100, 60_000)?),
                retry_schedule: schedule(&get, "CLAIMLEDGER_WEBHOOKS_RETRY_MS")?,
                disable_after: Duration::from_secs(number(&get, "CLAIMLEDGER_WEBHOOKS_DISABLE_AFTER_S", 100_800, 1, 2_592_000)?),
                secret_grace: Duration::from_secs(number(&get, "CLAIMLEDGER_WEBHOOKS_SECRET_GRACE_S", 86_400, 0, 2_592_000)?),
                concurrency: number::<usize>(&get, "CLAIMLEDGER_WEBHOOKS_CONCURRENCY", 16, 1, 256)?,
            },
            stream: StreamSettings {
                max_clients: number::<usize>(&get, "CLAIMLEDGER_STREAM_MAX_CLIENTS", 2_000, 1, 100_000)?,
                heartbeat: Duration::from_millis(number(&get, "CLAIMLEDGER_STREAM_HEARTBEAT_MS", 15_000, 100, 300_000)?),
            },
        })
    }
}

/// The host (and port) of an http(s) URL: `https://example.org/x` → `example.org`.
fn url_host(url: &str) -> &str {
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    host.rsplit_once('@').map_or(host, |(_, h)| h)
}

fn number<T>(get: &impl Fn(&str) -> Option<String>, var: &'static str, default: u64, min: u64, max: u64) -> Result<T, ConfigError>
where
    T: TryFrom<u64>,
{
    let value = match get(var) {
        None => default,
        Some(text) => text
            .parse::<u64>()
            .map_err(|_| bad(var, format!("expected a whole number, got '{text}'")))?,
    };
    if !(min..=max).contains(&value) {
        return Err(bad(var, format!("must be between {min} and {max}, got {value}")));
    }
    T::try_from(value).map_err(|_| bad(var, "out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn defaults_need_nothing() {
        let c = Config::from_vars(HashMap::new()).unwrap();
        assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
        assert!(c.database_url.is_none());
        assert_eq!(c.jwt.ttl, Duration::from_secs(900));
    }

    #[test]
    fn errors_name_the_variable() {
        let e = Config::from_vars(vars(&[("CLAIMLEDGER_TOKEN_TTL", "soon")])).unwrap_err();
        assert_eq!(e.var, "CLAIMLEDGER_TOKEN_TTL");
        let e = Config::from_vars(vars(&[("CLAIMLEDGER_JWT_SECRET", "short")])).unwrap_err();
        assert_eq!(e.var, "CLAIMLEDGER_JWT_SECRET");
        assert!(!e.to_string().contains("short"), "the secret itself must not be echoed");
        let e = Config::from_vars(vars(&[("CLAIMLEDGER_ENV", "production")])).unwrap_err();
        assert_eq!(e.var, "DATABASE_URL");
        let e = Config::from_vars(vars(&[("CLAIMLEDGER_DB_CONNECT_TIMEOUT_MS", "30000")])).unwrap_err();
        assert_eq!(e.var, "CLAIMLEDGER_DB_CONNECT_TIMEOUT_MS");
        let e = Config::from_vars(vars(&[("CLAIMLEDGER_WEBHOOKS_RETRY_MS", "5,soon")])).unwrap_err();
        assert_eq!(e.var, "CLAIMLEDGER_WEBHOOKS_RETRY_MS");
        let e = Config::from_vars(vars(&[("CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE", "yes")])).unwrap_err();
        assert_eq!(e.var, "CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE");
        let c = Config::from_vars(vars(&[("CLAIMLEDGER_WEBHOOKS_RETRY_MS", "10, 20")])).unwrap();
        assert_eq!(c.webhooks.retry_schedule, [Duration::from_millis(10), Duration::from_millis(20)]);
        assert!(!c.webhooks.allow_private);
    }

    #[test]
    fn secret_is_redacted_in_debug() {
        let c = Config::from_vars(vars(&[("CLAIMLEDGER_JWT_SECRET", &"k".repeat(40))])).unwrap();
        assert!(!format!("{c:?}").contains("kkkk"));
    }
}
