//! Sending one signed message (Standard Webhooks headers) to a subscriber,
//! never to an address the server must not reach: names are resolved here,
//! at every delivery, and the connection goes only to the addresses that
//! were checked (a name that resolves to a private address is refused, so a
//! DNS answer that changes after the subscription was created gains
//! nothing). No redirects are followed, no proxy is used.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::model::webhook::{refused_address, signature};
use crate::store::webhooks::outbox::Attempt;

/// How deliveries are sent.
#[derive(Clone, Debug)]
pub struct SendSettings {
    pub allow_private: bool,
    pub timeout: Duration,
}

/// The resolver that refuses private targets.
struct Guard {
    allow_private: bool,
}

impl reqwest::dns::Resolve for Guard {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let allow_private = self.allow_private;
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if !allow_private && let Some(why) = addrs.iter().find_map(|a| refused_address(a.ip())) {
                return Err(format!("refused: {host} resolves to {why}").into());
            }
            if addrs.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// A client for deliveries (cheap to clone).
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    settings: SendSettings,
}

impl Sender {
    pub fn new(settings: SendSettings) -> Result<Sender, String> {
        let client = reqwest::Client::builder()
            .dns_resolver(Arc::new(Guard {
                allow_private: settings.allow_private,
            }))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .user_agent(concat!("claimledger-webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Sender { client, settings })
    }

    /// One attempt: `body` signed with every key in `keys` (the current one
    /// and any still in its rotation grace period).
    pub async fn send(&self, url: &str, keys: &[Vec<u8>], message_id: &str, event_type: &str, body: Vec<u8>) -> Attempt {
        let started = Instant::now();
        let timestamp = chrono::Utc::now().timestamp();
        let mut attempt = Attempt {
            message_id: message_id.to_string(),
            event_type: event_type.to_string(),
            status_code: None,
            error: None,
            latency_ms: 0,
            retry_after: None,
        };
        let outcome = self.post(url, keys, message_id, timestamp, body).await;
        attempt.latency_ms = started.elapsed().as_millis().min(i32::MAX as u128) as i32;
        match outcome {
            Ok((status, retry_after)) => {
                attempt.status_code = Some(status);
                attempt.retry_after = retry_after;
                if !(200..300).contains(&status) {
                    attempt.error = Some(format!("the receiver answered {status}"));
                }
            }
            Err(e) => attempt.error = Some(e),
        }
        attempt
    }

    async fn post(
        &self,
        url: &str,
        keys: &[Vec<u8>],
        message_id: &str,
        timestamp: i64,
        body: Vec<u8>,
    ) -> Result<(u16, Option<Duration>), String> {
        let parsed = url::Url::parse(url).map_err(|e| format!("not a URL: {e}"))?;
        // An address in the URL is not resolved, so it is checked here.
        if !self.settings.allow_private {
            let literal = match parsed.host() {
                Some(url::Host::Ipv4(a)) => Some(std::net::IpAddr::V4(a)),
                Some(url::Host::Ipv6(a)) => Some(std::net::IpAddr::V6(a)),
                _ => None,
            };
            if let Some(why) = literal.and_then(refused_address) {
                return Err(format!("refused: the target is {why}"));
            }
        }
        let signature = signature(keys, message_id, timestamp, &body).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header("webhook-id", message_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await
            .map_err(describe)?;
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Ok((response.status().as_u16(), retry_after))
    }
}

/// A transport error, without the URL (it may carry the subscriber's token).
fn describe(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    let mut text = kind.to_string();
    let e = e.without_url();
    let mut source = std::error::Error::source(&e);
    let mut depth = 0;
    while let Some(s) = source {
        let s_text = s.to_string();
        if s_text.contains("refused:") {
            text = format!("{kind}: {s_text}");
            break;
        }
        source = s.source();
        depth += 1;
        if depth > 6 {
            break;
        }
    }
    text
}
