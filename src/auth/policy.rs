//! Members, teams and what they may do, read from the current config at every request:
//! a change to `registry.yaml` applies to existing tokens at once.

use crate::config::{Config, Email};
use crate::store::UploadedPackage;
use std::collections::BTreeSet;

/// Who may read a package (besides admins).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readers {
    /// Every member (the repository names no teams).
    Everyone,
    /// Members of these teams; none means admins only.
    Teams(Vec<String>),
}

pub fn is_member(config: &Config, email: &str) -> bool {
    config.members.iter().any(|m| m.email == email)
}

pub fn is_admin(config: &Config, email: &str) -> bool {
    config.members.iter().any(|m| m.email == email && m.admin)
}

/// Readers of the packages of repository `repo` (a config key); a package whose
/// repository is no longer configured is readable by admins only.
pub fn readers(config: &Config, repo: Option<&str>) -> Readers {
    match repo.and_then(|r| config.repository(r)) {
        Some(r) if r.teams.is_empty() => Readers::Everyone,
        Some(r) => Readers::Teams(r.teams.clone()),
        None => Readers::Teams(Vec::new()),
    }
}

/// Teams `email` belongs to, as member or leader.
pub fn teams_of<'c>(config: &'c Config, email: &str) -> impl Iterator<Item = &'c str> {
    config
        .teams
        .iter()
        .filter(move |t| t.members.iter().chain(&t.leaders).any(|m| m == email))
        .map(|t| t.name.as_str())
}

pub fn can_read(config: &Config, email: &str, readers: &Readers) -> bool {
    if !is_member(config, email) {
        return false;
    }
    if is_admin(config, email) {
        return true;
    }
    match readers {
        Readers::Everyone => true,
        Readers::Teams(teams) => teams_of(config, email).any(|t| teams.iter().any(|r| r == t)),
    }
}

/// Who asks to issue, list or revoke someone's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenManager<'a> {
    /// `tagpub token …` on the server. Whoever can run it reads the data dir and edits
    /// registry.yaml (and so can make themself an admin): more than any member has over
    /// HTTP, so the operator manages anyone's tokens.
    Operator,
    /// A member, signed in with one of their tokens.
    Member(&'a str),
}

/// Everything a token of `email` would let its holder do. A right not listed here is
/// derived from these (reading a repository from its teams, creating packages from the
/// teams under `uploads.publishers`).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Rights {
    pub admin: bool,
    /// Teams they belong to, as member or leader: what they read, whether they publish.
    pub teams: BTreeSet<String>,
    /// Teams they lead: whose tokens they manage.
    pub leads: BTreeSet<String>,
    /// Uploaded packages they are an uploader of: what they publish to and change.
    pub uploads: BTreeSet<String>,
}

impl Rights {
    /// The rights of `email` under `config`, with `uploaded` the packages created by
    /// `dart pub publish` (the store holds their uploaders).
    pub fn of(config: &Config, email: &str, uploaded: &[UploadedPackage]) -> Rights {
        Rights {
            admin: is_admin(config, email),
            teams: teams_of(config, email).map(str::to_string).collect(),
            leads: config
                .teams
                .iter()
                .filter(|t| t.leaders.iter().any(|l| l == email))
                .map(|t| t.name.clone())
                .collect(),
            uploads: uploaded
                .iter()
                .filter(|p| p.uploaders.iter().any(|u| u == email))
                .map(|p| p.name.clone())
                .collect(),
        }
    }
}

/// May `manager` issue, list and revoke the tokens of `target`? `Err` says why not, for
/// a 403. Issuing, listing and revoking follow this one rule, over HTTP and on the
/// command line.
///
/// The rule: *a token for someone else never gives the caller more than they already
/// have.*
/// - The operator ([`TokenManager::Operator`]) manages anyone's tokens.
/// - A member manages their own tokens (if they are still a member).
/// - An admin manages anyone's tokens, and only admins manage an admin's tokens.
/// - A team leader manages the tokens of a member (or co-leader) of a team they lead,
///   when every right of that member is also the leader's: each team the member
///   belongs to, the leader belongs to (so the member reads and publishes nothing the
///   leader cannot); each team the member leads, the leader leads (so the member's
///   tokens do not reach further); each uploaded package the member is an uploader of,
///   the leader is too. Otherwise an admin has to do it.
/// - Nobody else.
///
/// `uploaded` are the packages created by `dart pub publish` with their uploaders.
pub fn may_manage_tokens(
    config: &Config,
    uploaded: &[UploadedPackage],
    manager: TokenManager<'_>,
    target: &Email,
) -> Result<(), String> {
    let actor = match manager {
        TokenManager::Operator => return Ok(()),
        TokenManager::Member(actor) => actor,
    };
    if !is_member(config, actor) {
        return Err(format!("{actor} is no longer a member of this registry"));
    }
    if target == actor || is_admin(config, actor) {
        return Ok(());
    }
    let ask = format!("ask an admin to manage the tokens of {target}");
    if is_admin(config, target) {
        return Err(format!(
            "{target} is an admin, and only admins manage an admin's tokens"
        ));
    }
    let mine = Rights::of(config, actor, uploaded);
    let theirs = Rights::of(config, target, uploaded);
    if mine.leads.is_empty() {
        return Err(format!(
            "{actor} may only manage their own tokens; {ask} or ask a leader of their team"
        ));
    }
    if mine.leads.is_disjoint(&theirs.teams) {
        return Err(format!(
            "{actor} leads {} but {target} is not in those teams; {ask} or ask a leader of their team",
            join(&mine.leads)
        ));
    }
    let beyond = |theirs: &BTreeSet<String>,
                  mine: &BTreeSet<String>,
                  (has, lacks): (&str, &str)| {
        let extra: BTreeSet<String> = theirs.difference(mine).cloned().collect();
        (!extra.is_empty()).then(|| {
            format!(
                "{target} {has} {}, which {actor} {lacks}; a token for {target} would give {actor} rights they do not have, so {ask}",
                join(&extra)
            )
        })
    };
    let excess = beyond(&theirs.teams, &mine.teams, ("is in", "is not in"))
        .or_else(|| beyond(&theirs.leads, &mine.leads, ("leads", "does not lead")))
        .or_else(|| {
            beyond(
                &theirs.uploads,
                &mine.uploads,
                ("is an uploader of", "is not an uploader of"),
            )
        });
    match excess {
        Some(why) => Err(why),
        None => Ok(()),
    }
}

fn join(set: &BTreeSet<String>) -> String {
    set.iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests;
