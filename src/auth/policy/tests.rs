//! Who reads what, and whose tokens a member may manage (the escalation attempts of
//! issue 9 included).

use super::*;
use std::path::Path;

fn config() -> Config {
    Config::from_yaml(
        r#"
base_url: https://pub.acme.dev/
members:
  - {email: admin@acme.dev, admin: true}
  - {email: root@acme.dev, admin: true}
  - {email: alice@acme.dev}
  - {email: frank@acme.dev}
  - {email: ci@acme.dev}
  - {email: bob@acme.dev}
  - {email: carol@acme.dev}
  - {email: dave@acme.dev}
  - {email: erin@acme.dev}
teams:
  - name: mobile
    leaders: [alice@acme.dev, frank@acme.dev]
    members: [ci@acme.dev, admin@acme.dev, carol@acme.dev, dave@acme.dev, erin@acme.dev]
  - {name: web, leaders: [dave@acme.dev], members: [bob@acme.dev, carol@acme.dev]}
repositories:
  - {url: /open}
  - {url: /secret, teams: [mobile]}
"#,
        Path::new("/r/registry.yaml"),
    )
    .unwrap()
}

/// `erin_pkg`, uploaded by erin; `shared_pkg`, uploaded by erin and alice.
fn uploaded() -> Vec<UploadedPackage> {
    let package = |name: &str, uploaders: &[&str]| UploadedPackage {
        name: name.into(),
        creator: uploaders[0].into(),
        created: 0,
        teams: vec!["mobile".into()],
        discontinued: false,
        replaced_by: None,
        uploaders: uploaders.iter().map(|u| u.to_string()).collect(),
        retracted: Vec::new(),
    };
    vec![
        package("erin_pkg", &["erin@acme.dev"]),
        package("shared_pkg", &["alice@acme.dev", "erin@acme.dev"]),
    ]
}

fn may(actor: &str, target: &str) -> Result<(), String> {
    may_manage_tokens(
        &config(),
        &uploaded(),
        TokenManager::Member(actor),
        &Email::new(target),
    )
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
fn everyone_manages_their_own_tokens_and_admins_everyones() {
    for who in ["bob@acme.dev", "ci@acme.dev", "alice@acme.dev"] {
        assert_eq!(may(who, who), Ok(()), "{who}");
    }
    assert_eq!(may("bob@acme.dev", " BOB@Acme.dev "), Ok(()));
    for target in [
        "bob@acme.dev",
        "alice@acme.dev",
        "root@acme.dev",
        "gone@acme.dev",
    ] {
        assert_eq!(may("admin@acme.dev", target), Ok(()), "{target}");
    }
    // A removed member keeps no rights, not even over their own tokens.
    assert!(may("gone@acme.dev", "gone@acme.dev").is_err());
}

#[test]
fn a_leader_manages_members_of_their_team_with_no_more_rights() {
    assert_eq!(may("alice@acme.dev", "ci@acme.dev"), Ok(()));
    assert_eq!(may("alice@acme.dev", "CI@acme.dev\t"), Ok(()));
    // A co-leader of the same team and nothing else has the same rights.
    assert_eq!(may("alice@acme.dev", "frank@acme.dev"), Ok(()));
    let e = may("alice@acme.dev", "bob@acme.dev").unwrap_err();
    assert!(
        e.contains("leads mobile") && e.contains("ask an admin"),
        "{e}"
    );
    let e = may("ci@acme.dev", "alice@acme.dev").unwrap_err();
    assert!(e.contains("only manage their own"), "{e}");
}

#[test]
fn a_leader_cannot_mint_an_admins_token_in_any_spelling() {
    for spelling in ["admin@acme.dev", "ADMIN@acme.dev ", " Admin@ACME.dev"] {
        let e = may("alice@acme.dev", spelling).unwrap_err();
        assert!(e.contains("only admins"), "{spelling}: {e}");
    }
}

#[test]
fn a_leader_cannot_reach_into_teams_they_are_not_in() {
    // carol is also in web, which alice is not in.
    let e = may("alice@acme.dev", "carol@acme.dev").unwrap_err();
    assert!(
        e.contains("is in web") && e.contains("alice@acme.dev is not in"),
        "{e}"
    );
    // dave leads web (and so is in it): neither his reads nor his leadership are alice's.
    let e = may("alice@acme.dev", "dave@acme.dev").unwrap_err();
    assert!(e.contains("web"), "{e}");
    // dave leads web and is in mobile: carol (in both, leading nothing) has no right he
    // lacks, but ci is in no team he leads.
    assert_eq!(may("dave@acme.dev", "carol@acme.dev"), Ok(()));
    let e = may("dave@acme.dev", "ci@acme.dev").unwrap_err();
    assert!(e.contains("leads web but ci@acme.dev is not in"), "{e}");
}

#[test]
fn a_leader_cannot_mint_tokens_of_an_uploader_of_packages_they_cannot_publish() {
    let e = may("alice@acme.dev", "erin@acme.dev").unwrap_err();
    assert!(e.contains("is an uploader of erin_pkg"), "{e}");
    assert!(
        !e.contains("shared_pkg"),
        "alice uploads shared_pkg herself: {e}"
    );
    // Once alice is an uploader of erin_pkg too, erin has nothing alice lacks.
    let mut both = uploaded();
    both[0].uploaders.push("alice@acme.dev".into());
    assert_eq!(
        may_manage_tokens(
            &config(),
            &both,
            TokenManager::Member("alice@acme.dev"),
            &Email::new("erin@acme.dev")
        ),
        Ok(())
    );
}

#[test]
fn the_operator_manages_anyones_tokens() {
    for target in ["admin@acme.dev", "bob@acme.dev", "gone@acme.dev"] {
        assert_eq!(
            may_manage_tokens(&config(), &[], TokenManager::Operator, &Email::new(target)),
            Ok(())
        );
    }
}
