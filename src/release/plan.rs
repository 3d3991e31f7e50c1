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
    /// What the tag ref names directly (an annotated tag object, or `commit`).
    pub target: gix::ObjectId,
}

/// The tags (sorted by name) that start with `prefix`, found by binary search: a
/// monorepo with thousands of packages and tags must not compare every tag with every
/// package's patterns.
fn with_prefix<'t>(tags: &'t [Tag], prefix: &str) -> &'t [Tag] {
    let start = tags.partition_point(|t| t.name.as_str() < prefix);
    let len = tags[start..].partition_point(|t| t.name.starts_with(prefix));
    &tags[start..start + len]
}

/// Groups `tags` (sorted by name, as [`Repo::tags`] returns them) by the package whose
/// pattern they match.
pub fn plan<'c>(config: &'c Repository, repo: &Repo, tags: &[Tag]) -> Vec<PackagePlan<'c>> {
    config
        .packages
        .iter()
        .map(|spec| {
            let mut candidates: Vec<Candidate> = spec
                .tag_patterns
                .iter()
                .flat_map(|p| with_prefix(tags, p.prefix()).iter().map(move |t| (p, t)))
                .filter_map(|(p, t)| {
                    let text = p.candidate(&t.name)?;
                    Some(Candidate {
                        tag: t.name.clone(),
                        commit: t.commit,
                        version_text: text.to_string(),
                        target: t.target,
                    })
                })
                .collect();
            // A tag matching two patterns of one package is one candidate.
            candidates.sort_by(|a, b| a.tag.cmp(&b.tag));
            candidates.dedup_by(|a, b| a.tag == b.tag);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_with_a_prefix_are_found_in_the_sorted_list() {
        let tags: Vec<Tag> = [
            "1.0.0",
            "bar-v1",
            "foo-v1.0.0",
            "foo-v2.0.0",
            "foo-x",
            "foox",
            "zed",
        ]
        .iter()
        .map(|n| Tag {
            name: n.to_string(),
            commit: gix::ObjectId::null(gix::hash::Kind::Sha1),
            target: gix::ObjectId::null(gix::hash::Kind::Sha1),
        })
        .collect();
        let names = |p: &str| {
            with_prefix(&tags, p)
                .iter()
                .map(|t| t.name.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(names("foo-v"), ["foo-v1.0.0", "foo-v2.0.0"]);
        assert_eq!(
            names(""),
            tags.iter().map(|t| t.name.clone()).collect::<Vec<_>>()
        );
        assert_eq!(names("nope"), Vec::<String>::new());
        assert_eq!(names("zed"), ["zed"]);
    }
}
