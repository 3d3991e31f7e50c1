//! Which tags of a repository are release candidates of which package.

use super::candidate;
use crate::config::{PackageSpec, Repository};
use crate::git::{Repo, Tag};
use crate::package::version::Version;

/// The candidates of one package of a repository.
#[derive(Debug)]
pub struct PackagePlan<'c> {
    pub spec: &'c PackageSpec,
    /// The package name, from the config or from the pubspec at `path` of the newest
    /// candidate; `None` when no candidate has a pubspec there.
    pub name: Option<String>,
    pub candidates: Vec<Candidate>,
}

/// A tag that matches one of the package's patterns.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub tag: String,
    pub commit: gix::ObjectId,
    /// The text in place of `{{version}}`, not yet validated.
    pub version_text: String,
}

/// Groups `tags` by the package whose pattern they match.
pub fn plan<'c>(config: &'c Repository, repo: &Repo, tags: &[Tag]) -> Vec<PackagePlan<'c>> {
    config
        .packages
        .iter()
        .map(|spec| {
            let mut candidates: Vec<Candidate> = tags
                .iter()
                .filter_map(|t| {
                    let text = spec
                        .tag_patterns
                        .iter()
                        .find_map(|p| p.candidate(&t.name))?;
                    Some(Candidate {
                        tag: t.name.clone(),
                        commit: t.commit,
                        version_text: text.to_string(),
                    })
                })
                .collect();
            // Newest first, so the name comes from the most recent release and the log
            // reads like a changelog.
            candidates.sort_by(|a, b| {
                let va = Version::parse(&a.version_text).ok();
                let vb = Version::parse(&b.version_text).ok();
                vb.cmp(&va).then_with(|| a.tag.cmp(&b.tag))
            });
            let name = spec.name.clone().or_else(|| {
                candidates
                    .iter()
                    .find_map(|c| candidate::name_at(repo, c.commit, &spec.path))
            });
            PackagePlan {
                spec,
                name,
                candidates,
            }
        })
        .collect()
}
