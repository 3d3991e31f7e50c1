//! What `registry.yaml` and the publishing state say about one package.

use crate::auth::{Readers, policy};
use crate::config::Config;
use crate::package::version::Version;
use crate::store::UploadedPackage;

#[derive(Debug, Clone)]
pub struct Settings {
    pub readers: Readers,
    pub retracted: Vec<Version>,
    pub discontinued: bool,
    pub replaced_by: Option<String>,
}

impl Settings {
    pub fn of(
        config: &Config,
        repo: Option<&str>,
        uploaded: Option<&UploadedPackage>,
        name: &str,
    ) -> Settings {
        if let Some(repo) = repo {
            let spec = config.repository(repo).and_then(|r| {
                r.packages
                    .iter()
                    .find(|p| p.name.as_deref() == Some(name))
                    .or_else(|| r.packages.iter().find(|p| p.name.is_none()))
            });
            return Settings {
                readers: policy::readers(config, Some(repo)),
                retracted: spec.map(|s| s.retracted.clone()).unwrap_or_default(),
                discontinued: spec.is_some_and(|s| s.discontinued),
                replaced_by: spec.and_then(|s| s.replaced_by.clone()),
            };
        }
        // Uploaded: the state kept by the API, with registry.yaml adding to it.
        let spec = config.uploads.packages.iter().find(|p| p.name == name);
        let mut retracted: Vec<Version> = uploaded
            .map(|u| {
                u.retracted
                    .iter()
                    .filter_map(|v| Version::parse(v).ok())
                    .collect()
            })
            .unwrap_or_default();
        retracted.extend(spec.map(|s| s.retracted.clone()).unwrap_or_default());
        // Readers by default: the teams its creator had when creating it, and the current
        // teams of every uploader, so whoever may publish a version may also read it.
        let teams = spec.and_then(|s| s.teams.clone()).unwrap_or_else(|| {
            let mut teams: Vec<String> = uploaded.map(|u| u.teams.clone()).unwrap_or_default();
            for uploader in uploaded.iter().flat_map(|u| &u.uploaders) {
                teams.extend(policy::teams_of(config, uploader).map(str::to_string));
            }
            teams.sort();
            teams.dedup();
            teams
        });
        Settings {
            readers: if teams.is_empty() {
                Readers::Everyone
            } else {
                Readers::Teams(teams)
            },
            retracted,
            discontinued: spec.is_some_and(|s| s.discontinued)
                || uploaded.is_some_and(|u| u.discontinued),
            replaced_by: spec
                .and_then(|s| s.replaced_by.clone())
                .or_else(|| uploaded.and_then(|u| u.replaced_by.clone())),
        }
    }
}
