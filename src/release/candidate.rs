//! One tag of one package: is it a release, and what is its archive?
//!
//! Pure with respect to the store: `tagpub check` and `tagpub sync` share it.

use crate::git::{Repo, TreeFile};
use crate::package::archive::{self, ArchiveFile};
use crate::package::files::{self, TreeEntry};
use crate::package::pubspec::{self, Pubspec};
use crate::package::version::Version;
use gix::ObjectId;

/// A tag that passed every rule, with its archive built.
#[derive(Debug)]
pub struct Release {
    pub version: Version,
    pub pubspec: Pubspec,
    /// Where the package sat in the tree at that commit (`""` for the root).
    pub package_dir: String,
    pub archive: Vec<u8>,
    /// Things left out of the archive (links leaving the package, submodules).
    pub warnings: Vec<String>,
}

/// Why a tag is not served. The reason is shown to people as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub reason: String,
    /// A git read failure rather than a problem with the tag: not recorded, retried on
    /// the next pass.
    pub transient: bool,
}

impl From<String> for Rejection {
    fn from(reason: String) -> Rejection {
        Rejection {
            reason,
            transient: false,
        }
    }
}

/// Evaluates `tag` (at `commit`) as version `version_text` of package `name`, whose
/// usual home is `path`.
pub fn evaluate(
    repo: &Repo,
    commit: ObjectId,
    name: &str,
    path: &str,
    version_text: &str,
) -> Result<Release, Rejection> {
    let version = Version::parse_canonical(version_text)
        .map_err(|e| Rejection::from(format!("the tag's version is not valid: {e}")))?;
    let (tree, unnamed) = repo
        .tree(commit)
        .map_err(|e| internal("read the tree", &e))?;
    let (package_dir, pubspec) = locate(repo, &tree, name, path)?;
    if pubspec.version != version_text {
        return Err(Rejection::from(format!(
            "pubspec.yaml{} says version {}, but the tag says {version_text}; bump `version:` in pubspec.yaml, commit, and move or re-create the tag",
            at_dir(&package_dir),
            pubspec.version
        )));
    }
    let forbidden = pubspec.forbidden_dependencies();
    if !forbidden.is_empty() {
        let list: Vec<String> = forbidden.iter().map(|d| d.to_string()).collect();
        return Err(Rejection::from(format!(
            "`dart pub publish` would refuse it: {}; depend on a hosted version instead (dev_dependencies may keep paths)",
            list.join("; ")
        )));
    }
    let entries: Vec<TreeEntry> = tree.iter().map(|f| f.entry.clone()).collect();
    let mut read = |i: usize| -> Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>> {
        repo.read_blob(tree[i].oid).map_err(|e| Box::new(e) as _)
    };
    let selection = files::select(&entries, &package_dir, &mut read)
        .map_err(|e| Rejection::from(e.to_string()))?;
    let mut archive_files = Vec::with_capacity(selection.files.len());
    for f in &selection.files {
        let content = repo
            .read_blob(tree[f.entry].oid)
            .map_err(|e| internal("read a file", &e))?;
        archive_files.push(ArchiveFile {
            path: f.archive_path.clone(),
            executable: f.executable,
            content,
        });
    }
    let mtime = repo
        .commit_time(commit)
        .map_err(|e| internal("read the commit time", &e))?;
    let archive = archive::build(archive_files, mtime.max(0) as u64)
        .map_err(|e| Rejection::from(e.to_string()))?;
    let mut warnings = selection.warnings;
    warnings.extend(
        unnamed
            .iter()
            .filter(|p| package_dir.is_empty() || p.starts_with(&format!("{package_dir}/")))
            .map(|p| {
                format!("{p}: left out: the file name is not UTF-8, which pub archives cannot hold")
            }),
    );
    Ok(Release {
        version,
        pubspec,
        package_dir,
        archive,
        warnings,
    })
}

/// The name in the pubspec at `path`, if there is a parseable one.
pub fn name_at(repo: &Repo, commit: ObjectId, path: &str) -> Option<String> {
    let (tree, _) = repo.tree(commit).ok()?;
    let file = pubspec_path(path);
    let f = tree.iter().find(|f| f.entry.path == file)?;
    let bytes = repo.read_blob(f.oid).ok()?;
    pubspec::parse(&bytes).ok().map(|p| p.name)
}

fn pubspec_path(dir: &str) -> String {
    if dir.is_empty() {
        "pubspec.yaml".to_string()
    } else {
        format!("{dir}/pubspec.yaml")
    }
}

fn at_dir(dir: &str) -> String {
    if dir.is_empty() {
        String::new()
    } else {
        format!(" in {dir}/")
    }
}

/// Finds the package's directory: `path` when its pubspec has the expected name,
/// otherwise the one directory in the tree whose pubspec does (a package that moved).
fn locate(
    repo: &Repo,
    tree: &[TreeFile],
    name: &str,
    path: &str,
) -> Result<(String, Pubspec), Rejection> {
    let home = pubspec_path(path);
    let mut home_problem = None;
    if let Some(f) = tree.iter().find(|f| f.entry.path == home) {
        let bytes = repo
            .read_blob(f.oid)
            .map_err(|e| internal("read pubspec.yaml", &e))?;
        match pubspec::parse(&bytes) {
            Ok(p) if p.name == name => return Ok((path.to_string(), p)),
            Ok(p) => {
                home_problem = Some(format!("{home} names package `{}`, not `{name}`", p.name))
            }
            Err(e) => home_problem = Some(format!("{home} cannot be read: {e}")),
        }
    }
    let mut found = Vec::new();
    for f in tree {
        let p = &f.entry.path;
        if p != &home
            && (p == "pubspec.yaml" || p.ends_with("/pubspec.yaml"))
            && matches!(f.entry.kind, files::EntryKind::File { .. })
        {
            let Ok(bytes) = repo.read_blob(f.oid) else {
                continue;
            };
            if let Ok(spec) = pubspec::parse(&bytes)
                && spec.name == name
            {
                let dir = p
                    .strip_suffix("pubspec.yaml")
                    .unwrap_or("")
                    .trim_end_matches('/');
                found.push((dir.to_string(), spec));
            }
        }
    }
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Rejection::from(match home_problem {
            Some(problem) => {
                format!("{problem}, and no other pubspec.yaml in the tree is named `{name}`")
            }
            None => {
                format!("there is no {home}, and no pubspec.yaml in the tree is named `{name}`")
            }
        })),
        _ => {
            let dirs: Vec<String> = found.iter().map(|(d, _)| format!("{d}/")).collect();
            Err(Rejection::from(format!(
                "{}; several pubspec.yaml files are named `{name}` ({}); set `path:` for this package in registry.yaml",
                home_problem.unwrap_or_else(|| format!("there is no {home}")),
                dirs.join(", ")
            )))
        }
    }
}

/// A git failure while evaluating; the tag is retried on the next pass, so the reason
/// says so.
fn internal(doing: &str, e: &crate::git::Error) -> Rejection {
    Rejection {
        reason: format!("could not {doing} from git ({e}); it will be retried"),
        transient: true,
    }
}
