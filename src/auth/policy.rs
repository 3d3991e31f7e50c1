//! Members, teams and what they may do, read from the current config at every request:
//! a change to `registry.yaml` applies to existing tokens at once.

use crate::config::Config;

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

/// May `actor` issue, list and revoke the tokens of `target`? Admins for anyone, team
/// leaders for the members of the teams they lead, everyone for themself.
pub fn may_manage(config: &Config, actor: &str, target: &str) -> bool {
    if !is_member(config, actor) {
        return false;
    }
    if actor == target || is_admin(config, actor) {
        return true;
    }
    config.teams.iter().any(|t| {
        t.leaders.iter().any(|l| l == actor)
            && t.members.iter().chain(&t.leaders).any(|m| m == target)
    })
}

/// Why `actor` may not manage `target`'s tokens, for a 403.
pub fn manage_refusal(config: &Config, actor: &str, target: &str) -> String {
    let led: Vec<&str> = config
        .teams
        .iter()
        .filter(|t| t.leaders.iter().any(|l| l == actor))
        .map(|t| t.name.as_str())
        .collect();
    if led.is_empty() {
        format!(
            "{actor} may only manage their own tokens; ask an admin or a leader of a team of {target}"
        )
    } else {
        format!(
            "{actor} leads {} but {target} is not in those teams; ask an admin or a leader of a team of {target}",
            led.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn config() -> Config {
        Config::from_yaml(
            r#"
base_url: https://pub.acme.dev/
members:
  - {email: admin@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: ci@acme.dev}
  - {email: bob@acme.dev}
teams:
  - {name: mobile, leaders: [alice@acme.dev], members: [ci@acme.dev]}
  - {name: web, members: [bob@acme.dev]}
repositories:
  - {url: /open}
  - {url: /secret, teams: [mobile]}
"#,
            Path::new("/r/registry.yaml"),
        )
        .unwrap()
    }

    #[test]
    fn readers_are_repository_teams_plus_admins() {
        let c = config();
        let of = |repo| readers(&c, Some(repo));
        for who in ["admin@acme.dev", "alice@acme.dev", "ci@acme.dev"] {
            assert!(can_read(&c, who, &of("/secret")), "{who}");
        }
        assert!(!can_read(&c, "bob@acme.dev", &of("/secret")));
        assert!(can_read(&c, "bob@acme.dev", &of("/open")));
        assert!(!can_read(&c, "stranger@acme.dev", &of("/open")));
        assert!(!can_read(&c, "bob@acme.dev", &of("/removed")));
        assert!(can_read(&c, "admin@acme.dev", &of("/removed")));
    }

    #[test]
    fn token_management_follows_the_seed() {
        let c = config();
        assert!(may_manage(&c, "admin@acme.dev", "bob@acme.dev"));
        assert!(may_manage(&c, "alice@acme.dev", "ci@acme.dev"));
        assert!(!may_manage(&c, "alice@acme.dev", "bob@acme.dev"));
        assert!(may_manage(&c, "bob@acme.dev", "bob@acme.dev"));
        assert!(!may_manage(&c, "ci@acme.dev", "alice@acme.dev"));
        assert!(!may_manage(&c, "stranger@acme.dev", "stranger@acme.dev"));
        assert!(manage_refusal(&c, "alice@acme.dev", "bob@acme.dev").contains("leads mobile"));
    }
}
