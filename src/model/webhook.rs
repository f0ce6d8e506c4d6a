//! Webhook subscriptions (Standard Webhooks 1.0): what a subscriber asked
//! for, how an event is signed, which events it gets, and which target
//! addresses the server refuses to reach. No I/O here.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::fields::{self, Patch, http_url, optional_text};
use super::revision::text_enum;
use super::verdict::Rating;
use crate::all_fields;
use crate::error::{AppError, AppResult, FieldError};

text_enum!(
    /// Whether a subscription receives events: `disabled` by the server
    /// (failing for too long, or 410 Gone), `deleted` by DELETE (its history stays).
    WebhookStatus {
        Active => "active",
        Paused => "paused",
        Disabled => "disabled",
        Deleted => "deleted",
    }
);

/// The event types, one per feed change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    #[serde(rename = "factcheck.published")]
    Published,
    #[serde(rename = "factcheck.corrected")]
    Corrected,
    #[serde(rename = "factcheck.updated")]
    Updated,
    #[serde(rename = "factcheck.withdrawn")]
    Withdrawn,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Published => "factcheck.published",
            EventType::Corrected => "factcheck.corrected",
            EventType::Updated => "factcheck.updated",
            EventType::Withdrawn => "factcheck.withdrawn",
        }
    }

    pub fn of(change: super::factcheck::FeedChange) -> EventType {
        use super::factcheck::FeedChange as C;
        match change {
            C::Published => EventType::Published,
            C::Corrected => EventType::Corrected,
            C::Updated => EventType::Updated,
            C::Withdrawn => EventType::Withdrawn,
        }
    }
}

/// The type of the message `POST /v1/webhooks/{id}/test` sends.
pub const TEST_EVENT: &str = "webhook.test";

/// Which fact checks a subscriber wants; every given field must match.
// Read only from a JSON object: serde would also take an array of the fields
// in order, which the documented schema refuses.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, try_from = "FilterObject")]
pub struct WebhookFilter {
    /// The claimant's name (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimant: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rating: Option<Rating>,
    /// BCP 47 language of the claim (case-insensitive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    /// The claim carries at least one of these tags.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// What a filter is read from: an object, whose fields are then read as a
/// [`WebhookFilter`].
#[derive(Deserialize)]
struct FilterObject(serde_json::Map<String, serde_json::Value>);

/// The filter's fields, read from the object.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FilterFields {
    #[serde(default)]
    claimant: Option<String>,
    #[serde(default)]
    rating: Option<Rating>,
    #[serde(default)]
    language: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
}

impl TryFrom<FilterObject> for WebhookFilter {
    type Error = serde_json::Error;
    fn try_from(object: FilterObject) -> Result<Self, Self::Error> {
        let f: FilterFields = serde_json::from_value(serde_json::Value::Object(object.0))?;
        Ok(WebhookFilter {
            claimant: f.claimant,
            rating: f.rating,
            language: f.language,
            tags: f.tags,
        })
    }
}

impl WebhookFilter {
    fn parse(self) -> Result<WebhookFilter, FieldError> {
        let claimant = optional_text("filter.claimant", self.claimant.as_deref(), 300)?;
        let language = optional_text("filter.language", self.language.as_deref(), 35)?;
        let tags = fields::tags("filter.tags", &self.tags)?;
        Ok(WebhookFilter {
            claimant,
            rating: self.rating,
            language,
            tags,
        })
    }

    /// Whether a fact check (its public JSON) matches.
    pub fn matches(&self, factcheck: &serde_json::Value) -> bool {
        let claim = &factcheck["claim"];
        let text_eq = |want: &Option<String>, got: &serde_json::Value| {
            want.as_ref()
                .is_none_or(|w| got.as_str().is_some_and(|g| g.eq_ignore_ascii_case(w)))
        };
        text_eq(&self.claimant, &claim["claimant"])
            && text_eq(&self.language, &claim["language"])
            && self
                .rating
                .is_none_or(|r| factcheck["verdict"]["rating"].as_str() == Some(r.as_str()))
            && (self.tags.is_empty()
                || claim["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|t| t.as_str().is_some_and(|t| self.tags.iter().any(|w| w == t)))))
    }
}

/// A subscription as stored and as the log records it (no secret).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, diesel::Queryable, diesel::Selectable)]
#[diesel(table_name = crate::db::schema::webhooks)]
pub struct Webhook {
    pub id: Uuid,
    pub version: i32,
    pub url: String,
    pub description: Option<String>,
    pub event_types: serde_json::Value,
    pub filter: serde_json::Value,
    pub status: WebhookStatus,
    pub disabled_reason: Option<String>,
    /// Which signing secret is current (rotations are revisions too).
    pub secret_version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    pub fn event_types(&self) -> Vec<EventType> {
        serde_json::from_value(self.event_types.clone()).unwrap_or_default()
    }

    pub fn filter(&self) -> WebhookFilter {
        serde_json::from_value(self.filter.clone()).unwrap_or_default()
    }

    /// Whether an event of `kind` about `factcheck` goes to this subscriber.
    pub fn wants(&self, kind: EventType, factcheck: Option<&serde_json::Value>) -> bool {
        let types = self.event_types();
        if !types.is_empty() && !types.contains(&kind) {
            return false;
        }
        let filter = self.filter();
        if filter == WebhookFilter::default() {
            return true;
        }
        factcheck.is_some_and(|f| filter.matches(f))
    }
}

/// A subscription as the API shows it.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    pub id: Uuid,
    pub version: i32,
    pub url: String,
    pub description: Option<String>,
    /// Empty: every type.
    pub event_types: Vec<EventType>,
    pub filter: WebhookFilter,
    pub status: WebhookStatus,
    pub disabled_reason: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The signing secret (`whsec_…`): in the responses to create and
    /// rotate-secret only. Keep it; it is not shown again.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        WebhookOut {
            event_types: w.event_types(),
            filter: w.filter(),
            id: w.id,
            version: w.version,
            url: w.url,
            description: w.description,
            status: w.status,
            disabled_reason: w.disabled_reason,
            created_at: w.created_at,
            updated_at: w.updated_at,
            secret: None,
        }
    }
}

/// POST /v1/webhooks.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// http:// or https://; loopback, private and link-local targets are
    /// refused unless the server runs with CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE=true.
    pub url: String,
    pub description: Option<String>,
    /// Default: every type.
    pub event_types: Option<Vec<EventType>>,
    pub filter: Option<WebhookFilter>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct NewWebhook {
    pub url: String,
    pub description: Option<String>,
    pub event_types: Vec<EventType>,
    pub filter: WebhookFilter,
}

fn event_types(values: Vec<EventType>) -> Vec<EventType> {
    let mut out: Vec<EventType> = vec![];
    for v in values {
        if !out.contains(&v) {
            out.push(v);
        }
    }
    out
}

/// The target URL: http(s), and (unless private targets are allowed) a
/// host that is not an address the server must not reach. Names are
/// checked again, resolved, at every delivery.
pub fn target_url(field: &str, value: &str, allow_private: bool) -> Result<String, FieldError> {
    let url = http_url(field, value)?;
    let parsed = url::Url::parse(&url).map_err(|e| FieldError::new(field, e.to_string()))?;
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(FieldError::new(field, "must not carry credentials"));
    }
    if !allow_private {
        let refused = match parsed.host() {
            Some(url::Host::Ipv4(a)) => refused_address(IpAddr::V4(a)),
            Some(url::Host::Ipv6(a)) => refused_address(IpAddr::V6(a)),
            Some(url::Host::Domain(d)) => {
                let d = d.trim_end_matches('.').to_ascii_lowercase();
                (d == "localhost" || d.ends_with(".localhost") || d.ends_with(".local") || d.ends_with(".internal"))
                    .then_some("a local name")
            }
            None => Some("no host"),
        };
        if let Some(why) = refused {
            return Err(FieldError::new(
                field,
                format!(
                    "refused: the target is {why}; webhooks go to public hosts only (CLAIMLEDGER_WEBHOOKS_ALLOW_PRIVATE=true allows private targets in development)"
                ),
            ));
        }
    }
    Ok(url)
}

/// Why the server must not send to `addr` (None: a public address).
pub fn refused_address(addr: IpAddr) -> Option<&'static str> {
    match addr {
        IpAddr::V4(a) => refused_v4(a),
        IpAddr::V6(a) => {
            if let Some(v4) = a.to_ipv4_mapped() {
                return refused_v4(v4).map(|_| "an IPv4-mapped private address");
            }
            let s = a.segments();
            if a.is_loopback() {
                Some("loopback")
            } else if a.is_unspecified() {
                Some("unspecified")
            } else if a.is_multicast() {
                Some("multicast")
            } else if (s[0] & 0xffc0) == 0xfe80 {
                Some("link-local")
            } else if (s[0] & 0xfe00) == 0xfc00 {
                Some("a unique local (private) address")
            } else if s[0] == 0x64 && s[1] == 0xff9b {
                // NAT64 embeds an IPv4 address.
                let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
                refused_v4(v4).map(|_| "a NAT64 address of a private IPv4 address")
            } else if s[0] == 0x2001 && s[1] == 0x0db8 {
                Some("documentation")
            } else if a == Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0, 1) {
                Some("loopback")
            } else {
                None
            }
        }
    }
}

fn refused_v4(a: Ipv4Addr) -> Option<&'static str> {
    let o = a.octets();
    if a.is_loopback() {
        Some("loopback")
    } else if a.is_unspecified() || o[0] == 0 {
        Some("unspecified")
    } else if a.is_private() {
        Some("a private address")
    } else if a.is_link_local() {
        Some("link-local")
    } else if a.is_multicast() || o[0] >= 240 || a.is_broadcast() {
        Some("multicast or reserved")
    } else if o[0] == 100 && (64..128).contains(&o[1]) {
        Some("shared (carrier-grade NAT) address space")
    } else if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        Some("IETF protocol assignments")
    } else if a.is_documentation() || (o[0] == 198 && (o[1] == 18 || o[1] == 19)) {
        Some("documentation or benchmarking")
    } else {
        None
    }
}

impl NewWebhook {
    pub fn parse(input: WebhookInput, allow_private: bool) -> AppResult<(NewWebhook, Option<String>)> {
        let url = target_url("url", &input.url, allow_private);
        let description = optional_text("description", input.description.as_deref(), 500);
        let filter = input.filter.unwrap_or_default().parse();
        let reason = fields::reason(input.reason.as_deref());
        let (url, description, filter, reason) = all_fields!(url, description, filter, reason)?;
        Ok((
            NewWebhook {
                url,
                description,
                event_types: event_types(input.event_types.unwrap_or_default()),
                filter,
            },
            reason,
        ))
    }
}

/// PATCH /v1/webhooks/{id} (JSON Merge Patch): pause (`status: paused`),
/// resume (`status: active`, also after the server disabled it), change
/// the url, the description, the event types or the filter.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookPatchInput {
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub url: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<String>)]
    pub description: Patch<String>,
    #[serde(default)]
    #[schema(value_type = Option<Vec<EventType>>)]
    pub event_types: Patch<Vec<EventType>>,
    #[serde(default)]
    #[schema(value_type = Option<WebhookFilter>)]
    pub filter: Patch<WebhookFilter>,
    /// `active` or `paused`.
    #[serde(default)]
    #[schema(value_type = Option<WebhookStatus>)]
    pub status: Patch<WebhookStatus>,
    pub reason: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct WebhookPatch {
    pub url: Option<String>,
    pub description: Option<Option<String>>,
    pub event_types: Option<Vec<EventType>>,
    pub filter: Option<WebhookFilter>,
    pub status: Option<WebhookStatus>,
}

impl WebhookPatch {
    pub fn parse(input: WebhookPatchInput, allow_private: bool) -> AppResult<(WebhookPatch, Option<String>)> {
        let url = input
            .url
            .required("url")
            .and_then(|u| u.map(|u| target_url("url", &u, allow_private)).transpose());
        let description = match input.description.optional() {
            Some(d) => optional_text("description", d.as_deref(), 500).map(Some),
            None => Ok(None),
        };
        let filter = match input.filter.optional() {
            None => Ok(None),
            Some(None) => Ok(Some(WebhookFilter::default())),
            Some(Some(f)) => f.parse().map(Some),
        };
        let status = input.status.required("status").and_then(|s| match s {
            None | Some(WebhookStatus::Active) | Some(WebhookStatus::Paused) => Ok(s),
            Some(other) => Err(FieldError::new(
                "status",
                format!("can be set to active or paused, not {other} (DELETE deactivates)"),
            )),
        });
        let reason = fields::reason(input.reason.as_deref());
        let (url, description, filter, status, reason) = all_fields!(url, description, filter, status, reason)?;
        Ok((
            WebhookPatch {
                url,
                description,
                event_types: input.event_types.optional().map(|t| event_types(t.unwrap_or_default())),
                filter,
                status,
            },
            reason,
        ))
    }
}

/// A signing key, as Standard Webhooks spells it: `whsec_` + base64.
pub fn secret_text(key: &[u8]) -> String {
    format!("whsec_{}", STANDARD.encode(key))
}

/// The `webhook-signature` header: one `v1,<base64 HMAC-SHA256>` per key,
/// space-separated, over `id.timestamp.body`.
pub fn signature(keys: &[Vec<u8>], message_id: &str, timestamp: i64, body: &[u8]) -> AppResult<String> {
    let mut out = vec![];
    for key in keys {
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).map_err(AppError::internal)?;
        mac.update(message_id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        out.push(format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes())));
    }
    Ok(out.join(" "))
}

/// The `webhook-id` of a feed event for one subscriber: the same on every
/// retry and replay, so receivers can deduplicate.
pub fn message_id(webhook_id: Uuid, seq: i64) -> String {
    format!("msg_{}_{seq}", webhook_id.simple())
}

/// An event's body: `{type, timestamp, data: {cursor, claim_id, seq, factcheck}}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEvent<'a> {
    #[serde(rename = "type")]
    pub kind: &'a str,
    pub timestamp: DateTime<Utc>,
    pub data: WebhookEventData<'a>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookEventData<'a> {
    pub cursor: String,
    pub claim_id: Option<Uuid>,
    pub seq: Option<i64>,
    /// The fact check after the change (the feed item's); null on withdrawal.
    #[schema(value_type = Option<Object>)]
    pub factcheck: Option<&'a serde_json::value::RawValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<Uuid>,
}

/// When to try again after `attempts` failures: the schedule's step (its
/// last step repeats), with up to ±20% jitter from `jitter` in [0, 1).
pub fn backoff(schedule: &[std::time::Duration], attempts: u32, jitter: f64) -> std::time::Duration {
    let Some(last) = schedule.last() else {
        return std::time::Duration::from_secs(60);
    };
    let step = schedule.get(attempts.saturating_sub(1) as usize).unwrap_or(last);
    step.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_filter_is_an_object_never_an_array() {
        let ok: WebhookInput = serde_json::from_str(r#"{"url": "https://example.org/hook", "filter": {"language": "en"}}"#).unwrap();
        assert_eq!(ok.filter.unwrap().language.as_deref(), Some("en"));
        assert!(serde_json::from_str::<WebhookInput>(r#"{"url": "https://example.org/hook", "filter": [null, null]}"#).is_err());
        assert!(serde_json::from_str::<WebhookInput>(r#"{"url": "https://example.org/hook", "filter": {"colour": "red"}}"#).is_err());
    }

    use super::*;

    #[test]
    fn signatures_follow_the_standard_webhooks_reference() {
        // The example of the Standard Webhooks specification's reference libraries.
        let key = STANDARD.decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
        let body = br#"{"test": 2432232314}"#;
        let sig = signature(std::slice::from_ref(&key), "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        let two = signature(&[key.clone(), vec![7; 32]], "m", 1, b"x").unwrap();
        assert_eq!(two.split(' ').count(), 2);
        assert!(secret_text(&key).starts_with("whsec_MfKQ9r8G"));
    }

    #[test]
    fn private_loopback_link_local_and_mapped_addresses_are_refused() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "100.64.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "ff02::1",
        ] {
            assert!(refused_address(a.parse().unwrap()).is_some(), "{a} should be refused");
        }
        for a in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(refused_address(a.parse().unwrap()).is_none(), "{a} is public");
        }
        assert!(target_url("url", "http://127.0.0.1:9/x", false).is_err());
        assert!(target_url("url", "http://[::ffff:192.168.0.1]/", false).is_err());
        assert!(target_url("url", "http://localhost/", false).is_err());
        assert!(target_url("url", "ftp://example.org/", false).is_err());
        assert!(target_url("url", "https://user:pw@example.org/", false).is_err());
        assert!(target_url("url", "https://example.org/hook", false).is_ok());
        assert!(target_url("url", "http://127.0.0.1:9/x", true).is_ok());
    }

    #[test]
    fn backoff_follows_the_schedule_with_bounded_jitter() {
        let s = [std::time::Duration::from_secs(5), std::time::Duration::from_secs(300)];
        assert_eq!(backoff(&s, 1, 0.5), std::time::Duration::from_secs(5));
        assert!(backoff(&s, 9, 0.0) >= std::time::Duration::from_secs(240));
        assert!(backoff(&s, 9, 0.999) <= std::time::Duration::from_secs(360));
    }

    #[test]
    fn filters_match_claimant_rating_language_and_tags() {
        let fc = serde_json::json!({"claim": {"claimant": "Vladimir Putin", "language": "en", "tags": ["russia"]}, "verdict": {"rating": "false"}});
        let f = |j: serde_json::Value| serde_json::from_value::<WebhookFilter>(j).unwrap().matches(&fc);
        assert!(f(
            serde_json::json!({"claimant": "vladimir putin", "rating": "false", "language": "EN", "tags": ["russia", "x"]})
        ));
        assert!(!f(serde_json::json!({"rating": "true"})));
        assert!(!f(serde_json::json!({"tags": ["ukraine"]})));
        assert!(!f(serde_json::json!({"language": "de"})));
    }
}
