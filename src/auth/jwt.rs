//! Access tokens: HS256 with our secret (algorithm pinned), optionally also
//! EdDSA tokens from an external identity provider whose public key is configured.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, decode_header, encode};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::{JwtSettings, Secret};
use crate::error::{AppError, AppResult};
use crate::model::Role;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    pub sub: Uuid,
    pub roles: Vec<Role>,
    pub iat: u64,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    pub jti: Uuid,
    pub iss: String,
    pub aud: String,
}

pub struct TokenKeys {
    encoding: EncodingKey,
    hs256: DecodingKey,
    eddsa: Option<DecodingKey>,
    issuer: String,
    audience: String,
    ttl: Duration,
}

/// A freshly issued token.
pub struct Issued {
    pub access_token: String,
    pub expires_in: u64,
}

impl TokenKeys {
    pub fn new(secret: &Secret, settings: &JwtSettings) -> AppResult<Self> {
        let eddsa = match &settings.eddsa_public_key_pem {
            Some(pem) => Some(
                DecodingKey::from_ed_pem(pem.as_bytes())
                    .map_err(|e| AppError::internal(format!("CLAIMLEDGER_JWT_EDDSA_PUBLIC_KEY_FILE: {e}")))?,
            ),
            None => None,
        };
        Ok(TokenKeys {
            encoding: EncodingKey::from_secret(secret.expose()),
            hs256: DecodingKey::from_secret(secret.expose()),
            eddsa,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            ttl: settings.ttl,
        })
    }

    pub fn issue(&self, editor_id: Uuid, roles: &[Role]) -> AppResult<Issued> {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_err(AppError::internal)?.as_secs();
        let claims = Claims {
            sub: editor_id,
            roles: roles.to_vec(),
            iat: now,
            exp: now + self.ttl.as_secs(),
            nbf: None,
            jti: Uuid::new_v4(),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        let access_token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding).map_err(AppError::internal)?;
        Ok(Issued {
            access_token,
            expires_in: self.ttl.as_secs(),
        })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.set_issuer(&[&self.issuer]);
        v.set_audience(&[&self.audience]);
        v.set_required_spec_claims(&["exp", "iat", "sub", "iss", "aud"]);
        v.validate_nbf = true;
        v.leeway = 60;
        v
    }

    /// Checks signature, algorithm, exp, nbf, iss and aud. Whether the
    /// editor still exists and is active is checked per request, in the database.
    pub fn verify(&self, token: &str) -> AppResult<Claims> {
        let header = decode_header(token).map_err(|_| unauthorized("the token is malformed"))?;
        let key = match header.alg {
            Algorithm::HS256 => &self.hs256,
            Algorithm::EdDSA => self
                .eddsa
                .as_ref()
                .ok_or_else(|| unauthorized("tokens signed with EdDSA are not accepted here"))?,
            other => return Err(unauthorized(&format!("tokens signed with {other:?} are not accepted"))),
        };
        decode::<Claims>(token, key, &self.validation(header.alg))
            .map(|data| data.claims)
            .map_err(|e| {
                unauthorized(match e.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidIssuer => "the token was issued by someone else",
                    ErrorKind::InvalidAudience => "the token is meant for another audience",
                    ErrorKind::InvalidSignature => "the token's signature is invalid",
                    ErrorKind::InvalidAlgorithm => "the token's algorithm is not accepted",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                    _ => "the token is invalid",
                })
            })
    }
}

fn unauthorized(detail: &str) -> AppError {
    AppError::Unauthorized(detail.to_string())
}
