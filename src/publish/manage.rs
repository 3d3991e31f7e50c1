//! Changing uploaded packages after publishing: retraction, discontinuation, uploaders.
//! Uploaders and admins may, over HTTP or with `tagpub package` on the server. Packages
//! served from git take these settings from registry.yaml instead.

use super::{Error, Refusal, refused};
use crate::auth::policy;
use crate::config::{Config, Email};
use crate::index::Index;
use crate::store::{AuditEntry, Source, Store, UploadedPackage};

/// Who asks for a change.
#[derive(Debug, Clone)]
pub enum Actor {
    Member(String),
    /// Someone with access to the server's data dir, running `tagpub package`.
    ServerCommand,
}

impl Actor {
    fn name(&self) -> String {
        match self {
            Actor::Member(m) => m.clone(),
            Actor::ServerCommand => "tagpub (command line)".into(),
        }
    }
}

/// The uploaded package `name`, if `actor` may change it.
fn manageable(
    config: &Config,
    store: &Store,
    actor: &Actor,
    name: &str,
    setting: &str,
) -> Result<UploadedPackage, Error> {
    let Some(package) = store.publishing.package(name)? else {
        return Err(match store.catalog.owner(name)? {
            Some(Source::Git { .. }) => refused(
                Refusal::Conflict,
                format!(
                    "{name} is served from git; set `{setting}` for it under its repository in registry.yaml"
                ),
            ),
            _ => refused(Refusal::NotFound, format!("package `{name}` was not found")),
        });
    };
    match actor {
        Actor::ServerCommand => Ok(package),
        Actor::Member(m) if policy::is_admin(config, m) || package.uploaders.contains(m) => {
            Ok(package)
        }
        Actor::Member(m) => Err(refused(
            Refusal::Forbidden,
            format!(
                "{m} is not an uploader of {name}; its uploaders ({}) and admins may change it",
                package.uploaders.join(", ")
            ),
        )),
    }
}

fn audit(
    store: &Store,
    actor: &Actor,
    action: &str,
    package: &str,
    version: Option<&str>,
    detail: String,
    now: i64,
) -> Result<(), Error> {
    store.publishing.audit(&AuditEntry {
        at: now,
        actor: actor.name(),
        action: action.to_string(),
        package: package.to_string(),
        version: version.map(str::to_string),
        detail,
    })?;
    Ok(())
}

/// Retracts (or un-retracts) a version; it stays listed and downloadable (docs/protocol.md §8.6).
pub fn retract(
    config: &Config,
    store: &Store,
    index: &Index,
    actor: &Actor,
    (package, version): (&str, &str),
    retracted: bool,
    now: i64,
) -> Result<String, Error> {
    manageable(config, store, actor, package, "retracted")?;
    if index
        .package(package)
        .and_then(|p| p.version(version))
        .is_none()
    {
        return Err(refused(
            Refusal::NotFound,
            format!("{package} has no version {version}"),
        ));
    }
    store
        .publishing
        .set_retracted(package, version, retracted)?;
    let action = if retracted { "retract" } else { "unretract" };
    audit(
        store,
        actor,
        action,
        package,
        Some(version),
        String::new(),
        now,
    )?;
    Ok(format!(
        "{package} {version} is {}",
        if retracted {
            "retracted"
        } else {
            "no longer retracted"
        }
    ))
}

/// Marks a package discontinued (optionally replaced by another), or undoes it.
pub fn discontinue(
    config: &Config,
    store: &Store,
    actor: &Actor,
    package: &str,
    discontinued: bool,
    replaced_by: Option<&str>,
    now: i64,
) -> Result<String, Error> {
    manageable(config, store, actor, package, "discontinued")?;
    if let Some(r) = replaced_by {
        if !discontinued {
            return Err(refused(
                Refusal::Invalid,
                "replacedBy only means something for a discontinued package",
            ));
        }
        crate::package::name::validate(r)
            .map_err(|e| refused(Refusal::Invalid, format!("replacedBy: {e}")))?;
    }
    store
        .publishing
        .set_discontinued(package, discontinued, replaced_by)?;
    let action = if discontinued {
        "discontinue"
    } else {
        "undiscontinue"
    };
    let detail = replaced_by
        .map(|r| format!("replaced by {r}"))
        .unwrap_or_default();
    audit(store, actor, action, package, None, detail, now)?;
    Ok(match (discontinued, replaced_by) {
        (true, Some(r)) => format!("{package} is discontinued, replaced by {r}"),
        (true, None) => format!("{package} is discontinued"),
        (false, _) => format!("{package} is no longer discontinued"),
    })
}

/// Adds or removes an uploader. The last uploader cannot be removed.
pub fn set_uploader(
    config: &Config,
    store: &Store,
    actor: &Actor,
    package: &str,
    email: &Email,
    present: bool,
    now: i64,
) -> Result<String, Error> {
    let existing = manageable(config, store, actor, package, "uploaders")?;
    if present && !policy::is_member(config, email) {
        return Err(refused(
            Refusal::Invalid,
            format!("{email} is not a member; add it under members in registry.yaml first"),
        ));
    }
    if !present && existing.uploaders == [email.to_string()] {
        return Err(refused(
            Refusal::Conflict,
            format!("{email} is the last uploader of {package}; add another one first"),
        ));
    }
    let changed = store.publishing.set_uploader(package, email, present)?;
    if changed {
        let action = if present {
            "add-uploader"
        } else {
            "remove-uploader"
        };
        audit(store, actor, action, package, None, email.to_string(), now)?;
    }
    Ok(match (present, changed) {
        (true, true) => format!("{email} is now an uploader of {package}"),
        (true, false) => format!("{email} was already an uploader of {package}"),
        (false, true) => format!("{email} is no longer an uploader of {package}"),
        (false, false) => format!("{email} was not an uploader of {package}"),
    })
}
