//! Who may read what. Every package read goes through [`check_read`], so access control
//! has exactly one place to live; tokens are in [`token`], members and teams in
//! [`policy`].

pub mod cache;
pub mod policy;
pub mod token;

use crate::config::{Config, Email};
pub use policy::Readers;

/// The caller of a request: anonymous, or a member authenticated by a valid token.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Caller {
    pub member: Option<String>,
    pub token_id: Option<String>,
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
    /// Not there, and the caller may know that (404).
    NotFound,
}

/// The message of every 401: how to get and add a token (docs/protocol.md §2.5).
pub fn token_hint(config: &Config) -> String {
    let base = config.base_url.as_str();
    format!(
        "{base} needs a token. Ask a tagpub admin or your team leader for one (tagpub token issue --member YOUR_EMAIL), then run: dart pub token add {base}"
    )
}

/// May `caller` read package `name`, readable by `readers`, or `None` when no such
/// package exists? Anonymous callers learn nothing about which names exist unless
/// anonymous reads are on.
pub fn check_read(
    config: &Config,
    caller: &Caller,
    name: &str,
    readers: Option<&Readers>,
) -> Decision {
    let Some(member) = &caller.member else {
        let open = config.access.anonymous_read;
        return match readers {
            None if open => Decision::NotFound,
            Some(Readers::Everyone) if open => Decision::Allow,
            _ => Decision::Unauthenticated {
                message: token_hint(config),
            },
        };
    };
    let Some(readers) = readers else {
        return Decision::NotFound;
    };
    if policy::can_read(config, member, readers) {
        return Decision::Allow;
    }
    let message = match readers {
        Readers::Teams(teams) if !teams.is_empty() => {
            let leaders: Vec<&str> = config
                .teams
                .iter()
                .filter(|t| teams.contains(&t.name))
                .flat_map(|t| t.leaders.iter().map(Email::as_str))
                .collect();
            format!(
                "{member} may not read {name}: only members of the team(s) {} can. Ask {} to add you to one of them.",
                teams.join(", "),
                if leaders.is_empty() {
                    "an admin".to_string()
                } else {
                    format!("a team leader ({}) or an admin", leaders.join(", "))
                }
            )
        }
        _ => format!("{member} may not read {name}: it is readable by admins only"),
    };
    Decision::Forbidden { message }
}
