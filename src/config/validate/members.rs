//! `members` and `teams`.

use crate::config::raw;
use crate::config::{Email, Member, Team};
use std::collections::BTreeSet;

pub(super) fn validate_members(raw: &[raw::RawMember], problems: &mut Vec<String>) -> Vec<Member> {
    let mut seen = BTreeSet::new();
    let mut members = Vec::new();
    for (i, m) in raw.iter().enumerate() {
        let email = Email::new(&m.email);
        if !email.is_address() {
            problems.push(format!(
                "members[{i}].email: `{}` is not an email address",
                m.email
            ));
        } else if !seen.insert(email.clone()) {
            problems.push(format!("members[{i}].email: `{email}` is listed twice"));
        }
        members.push(Member {
            email,
            admin: m.admin,
        });
    }
    members
}

pub(super) fn validate_teams(
    raw: Vec<raw::RawTeam>,
    emails: &BTreeSet<&str>,
    problems: &mut Vec<String>,
) -> Vec<Team> {
    let mut names = BTreeSet::new();
    let mut teams = Vec::new();
    for (i, t) in raw.into_iter().enumerate() {
        if t.name.trim().is_empty() {
            problems.push(format!("teams[{i}].name: is empty"));
        } else if !names.insert(t.name.clone()) {
            problems.push(format!("teams[{i}].name: `{}` is declared twice", t.name));
        }
        let mut check = |key: &str, list: Vec<String>| -> Vec<Email> {
            list.into_iter()
                .enumerate()
                .map(|(j, e)| {
                    let e = Email::new(&e);
                    if !emails.contains(e.as_str()) {
                        problems.push(format!(
                            "teams[{i}].{key}[{j}]: `{e}` is not a member; add it under members first"
                        ));
                    }
                    e
                })
                .collect()
        };
        let leaders = check("leaders", t.leaders);
        let members = check("members", t.members);
        teams.push(Team {
            name: t.name,
            leaders,
            members,
        });
    }
    teams
}
