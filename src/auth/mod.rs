//! Who may read what. Every package read goes through [`check_read`], so access control
//! has exactly one place to live.

use crate::config::Config;
use crate::index::PackageView;

/// The caller of a request, as far as it is known.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    /// The member's email, once tokens exist; `None` is anonymous.
    pub member: Option<String>,
}

/// The outcome of an access check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// No (valid) credentials; the client should add a token (401).
    Unauthenticated {
        message: String,
    },
    /// Valid credentials without the right (403).
    Forbidden {
        message: String,
    },
}

/// May `caller` read `package`? Tokens and teams are not enforced yet: every read is
/// allowed, whatever `access.anonymous_read` says.
pub fn check_read(_config: &Config, _caller: &Caller, _package: &PackageView) -> Decision {
    Decision::Allow
}
