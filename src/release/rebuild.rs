//! Archives in the catalog but missing from the blob store, rebuilt from git.

use super::{RepoReport, candidate, sync::short};
use crate::config::Repository;
use crate::git::Repo;
use crate::store::{Source, Store};
use sha2::{Digest, Sha256};
use tracing::{error, info};

/// Rebuilds archives that are in the catalog but missing from the blob store. The
/// rebuild must reproduce the recorded sha256 exactly; if it does not, nothing is
/// stored and an operator has to act (bytes are forever).
pub(super) fn rebuild_missing(
    config: &Repository,
    store: &Store,
    repo: &Repo,
    report: &mut RepoReport,
) -> Result<(), crate::store::Error> {
    for v in store.catalog.summaries_from_repo(&config.key)? {
        let Source::Git { tag, commit, .. } = &v.source else {
            continue;
        };
        if store.blobs.contains(&v.sha256) {
            continue;
        }
        let path = config
            .packages
            .iter()
            .find(|p| p.name.as_deref() == Some(v.package.as_str()))
            .or(config.packages.first())
            .map_or("", |p| p.path.as_str());
        let Ok(oid) = gix::ObjectId::from_hex(commit.as_bytes()) else {
            let message = format!(
                "the archive of {} {} is missing and cannot be rebuilt: the commit recorded for it, `{commit}`, is not a commit id (the catalog is damaged); restore {}.tar.gz from a backup",
                v.package, v.version, v.sha256
            );
            error!(package = %v.package, version = %v.version, "{message}");
            report.warnings.push(message);
            continue;
        };
        match candidate::evaluate(repo, oid, &v.package, path, &v.version) {
            Ok(release) if sha_of(&release.archive) == v.sha256 => {
                store.blobs.put(&release.archive)?;
                info!(package = %v.package, version = %v.version, "rebuilt the missing archive of {} {} from tag {tag}", v.package, v.version);
            }
            Ok(_) => {
                let message = format!(
                    "the archive of {} {} is missing and rebuilding it from {} gives different bytes; restore {}.tar.gz from a backup",
                    v.package,
                    v.version,
                    short(commit),
                    v.sha256
                );
                error!(package = %v.package, version = %v.version, "{message}");
                report.warnings.push(message);
            }
            Err(rejection) => {
                let message = format!(
                    "the archive of {} {} is missing and cannot be rebuilt: {}",
                    v.package, v.version, rejection.reason
                );
                error!(package = %v.package, version = %v.version, "{message}");
                report.warnings.push(message);
            }
        }
    }
    Ok(())
}

fn sha_of(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}
