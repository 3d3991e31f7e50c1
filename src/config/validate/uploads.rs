//! `uploads`: who may create packages, size limits and the settings of uploaded
//! packages.

use super::{check_teams, lifecycle};
use crate::config::raw;
use crate::config::{DEFAULT_MAX_ARCHIVE_MIB, DEFAULT_MAX_UNPACKED_MIB, UploadedSpec, Uploads};
use crate::package::name;
use std::collections::BTreeSet;

pub(super) fn validate_uploads(
    raw: raw::RawUploads,
    team_names: &BTreeSet<String>,
    problems: &mut Vec<String>,
) -> Uploads {
    let mut mib = |key: &str, value: Option<u64>, default: u64| match value {
        Some(0) => {
            problems.push(format!("uploads.{key}: must be at least 1"));
            default << 20
        }
        Some(v) => v.saturating_mul(1 << 20),
        None => default << 20,
    };
    let max_archive_bytes = mib(
        "max_archive_mib",
        raw.max_archive_mib,
        DEFAULT_MAX_ARCHIVE_MIB,
    );
    let max_unpacked_bytes = mib(
        "max_unpacked_mib",
        raw.max_unpacked_mib,
        DEFAULT_MAX_UNPACKED_MIB,
    );
    let mut packages = Vec::new();
    for (i, p) in raw.packages.into_iter().enumerate() {
        let at = format!("uploads.packages[{i}]");
        if let Err(e) = name::validate(&p.name) {
            problems.push(format!("{at}.name: {e}"));
        }
        check_teams(
            p.teams.iter().flatten(),
            &format!("{at}.teams"),
            team_names,
            problems,
        );
        let settings = (&p.retracted[..], p.discontinued, p.replaced_by.as_deref());
        let retracted = lifecycle(settings, &at, problems);
        packages.push(UploadedSpec {
            name: p.name,
            teams: p.teams,
            retracted,
            discontinued: p.discontinued,
            replaced_by: p.replaced_by,
        });
    }
    Uploads {
        publishers: raw.publishers,
        max_archive_bytes,
        max_unpacked_bytes,
        packages,
    }
}
