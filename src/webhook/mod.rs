//! Push notifications from git forges, before any HTTP framework sees them: checking a
//! delivery's signature ([`verify`]), reading what it announces ([`parse`]), and deciding
//! whether it names a watched repository ([`Event::names`], by `config::key`).
//!
//! A handler calls [`verify`] with the raw body first and reads nothing of the body
//! until it succeeds; only then does it call [`parse`]. Nothing here logs, and no error
//! message contains a secret or a header's value.

mod delivery;
mod event;
mod signature;

pub use delivery::{MAX_DELIVERY_BYTES, RecentDeliveries, delivery_id};
pub use event::{Event, EventKind, parse};
pub use signature::{Provider, verify};

/// Why a webhook delivery was refused. The signature variants mean "not from whom it
/// claims" (answer 401); the payload variants mean a signed but unusable body (400);
/// [`Error::EmptySecret`] is the server's own misconfiguration (500).
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the webhook secret is empty; set the variable named by webhook_secret_env")]
    EmptySecret,
    #[error("the request has no {header} header")]
    MissingHeader { header: &'static str },
    #[error("the {header} header is malformed: {reason}")]
    MalformedSignature {
        header: &'static str,
        reason: &'static str,
    },
    #[error("the {header} header does not match the body and the webhook secret")]
    SignatureMismatch { header: &'static str },
    #[error("the request has no {header} header, so the event is unknown")]
    MissingEventHeader { header: &'static str },
    #[error("the {provider} webhook body is not JSON")]
    Json {
        provider: Provider,
        #[source]
        source: serde_json::Error,
    },
    #[error("the {provider} webhook body is form-encoded but has no `payload` field")]
    NoFormPayload { provider: Provider },
    #[error("the {provider} {event} event names no repository (expected {field})")]
    NoRepository {
        provider: Provider,
        event: String,
        field: &'static str,
    },
}

impl Error {
    /// Whether the delivery failed authentication, as opposed to being signed but
    /// unusable or the server being misconfigured.
    pub fn is_unauthenticated(&self) -> bool {
        matches!(
            self,
            Error::MissingHeader { .. }
                | Error::MalformedSignature { .. }
                | Error::SignatureMismatch { .. }
        )
    }
}

#[cfg(test)]
mod tests;
