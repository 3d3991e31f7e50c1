//! `dart pub publish` (docs/protocol.md §5): upload sessions, the checks at finalize, and
//! storing the archive byte for byte. Validation happens at finalize, where the client
//! shows the server's message; every step may be retried and answers the same.

mod finalize;
pub mod form;
mod manage;
mod rights;
mod session;
mod staging;

pub use finalize::finalize;
pub use manage::{Actor, discontinue, retract, set_uploader};
pub use session::{receive, start, sweep};

/// Why a publishing step did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The client's mistake or missing right; shown to the person publishing.
    #[error("{message}")]
    Refused { kind: Refusal, message: String },
    /// The registry's own failure, which the client retries: never recorded as a
    /// refusal.
    #[error(transparent)]
    Store(#[from] crate::store::Error),
    #[error("cannot {doing} the uploaded archive {path}")]
    Staging {
        doing: &'static str,
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the operating system's random number generator failed")]
    Random(#[source] getrandom::Error),
}

/// What kind of refusal a publishing step answers; `http` maps each to a status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// The request or the package breaks a rule.
    Invalid,
    /// The member lacks the right.
    Forbidden,
    /// What the request names does not exist.
    NotFound,
    /// It clashes with what is stored: a version with other bytes, a name that
    /// belongs to git or differs only in case, the last uploader.
    Conflict,
    /// The request is larger than this registry accepts.
    TooLarge,
}

impl Refusal {
    /// The kind as the store keeps it with a replayed answer.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Invalid => "invalid",
            Refusal::Forbidden => "forbidden",
            Refusal::NotFound => "not-found",
            Refusal::Conflict => "conflict",
            Refusal::TooLarge => "too-large",
        }
    }

    /// The kind of a stored code; a code this version does not know is `Invalid`.
    pub fn from_code(code: &str) -> Refusal {
        [
            Refusal::Forbidden,
            Refusal::NotFound,
            Refusal::Conflict,
            Refusal::TooLarge,
        ]
        .into_iter()
        .find(|k| k.code() == code)
        .unwrap_or(Refusal::Invalid)
    }
}

fn refused(kind: Refusal, message: impl Into<String>) -> Error {
    Error::Refused {
        kind,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::Refusal;

    #[test]
    fn every_refusal_kind_survives_the_store() {
        for kind in [
            Refusal::Invalid,
            Refusal::Forbidden,
            Refusal::NotFound,
            Refusal::Conflict,
            Refusal::TooLarge,
        ] {
            assert_eq!(Refusal::from_code(kind.code()), kind);
        }
        assert_eq!(Refusal::from_code("from a later version"), Refusal::Invalid);
    }
}
