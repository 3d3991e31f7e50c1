//! The ignore layers of a package: pub's built-in rules, and the `.pubignore` (or else
//! `.gitignore`) of each directory from the repository root down; the deepest layer
//! with a matching rule decides.

use super::tree::Class;
use super::{Error, Walk, below, join};
use ignore::Match;
use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// pub's built-in rules, placed before the package directory's own ignore file
/// so that file can override them (pub does the same).
const BUILTIN_RULES: [&str; 5] = [
    ".*",
    "!.htaccess",
    "pubspec.lock",
    "!pubspec.lock/",
    "/pubspec_overrides.yaml",
];

/// One ignore layer: the rules of one directory (`None` if it has none).
pub(super) struct Layer {
    dir: String,
    rules: Option<Gitignore>,
}

impl Walk<'_, '_> {
    /// The ignore layers of the package's parents, root first. pub walks them
    /// towards the package, each checking the next directory down, so one of them
    /// can exclude the package itself.
    pub(super) fn parent_layers(
        &mut self,
        package_dir: &str,
        ancestors: &[&str],
    ) -> Result<Vec<Layer>, Error> {
        let mut layers = Vec::new();
        for (i, dir) in ancestors.iter().enumerate() {
            layers.push(self.layer(dir, dir, false)?);
            let next = ancestors.get(i + 1).copied().unwrap_or(package_dir);
            if ignored(&layers, next, true) {
                let package_dir = package_dir.to_owned();
                return Err(Error::PubspecIgnored { package_dir });
            }
        }
        Ok(layers)
    }

    /// The ignore layer of directory `dir`, whose content lives at `real`: its
    /// `.pubignore`, else its `.gitignore`, plus pub's built-in rules first when
    /// `builtin` (the package directory).
    pub(super) fn layer(&mut self, dir: &str, real: &str, builtin: bool) -> Result<Layer, Error> {
        let mut builder = GitignoreBuilder::new(".");
        // Case-sensitive as on Linux (pub folds case only on macOS and Windows):
        // one tag must give one archive wherever it is built. Unclosed `[` is an
        // invalid pattern for pub, so it must not match literally here.
        builder.allow_unclosed_class(false);
        if builtin {
            for rule in BUILTIN_RULES {
                builder
                    .add_line(None, rule)
                    .map_err(|source| Error::IgnoreFile {
                        path: "(pub's built-in rules)".to_owned(),
                        source,
                    })?;
            }
        }
        let mut source = None;
        for name in [".pubignore", ".gitignore"] {
            let path = join(real, name);
            if let Class::File { entry, .. } = self.classify(&path)? {
                source = Some((path, entry));
                break;
            }
        }
        let dir = dir.to_owned();
        let Some((path, entry)) = source else {
            let rules = if builtin {
                Some(build(&builder, "(pub's built-in rules)")?)
            } else {
                None
            };
            return Ok(Layer { dir, rules });
        };
        let text =
            String::from_utf8(self.read(entry)?).map_err(|source| Error::IgnoreFileEncoding {
                path: path.clone(),
                source,
            })?;
        for (number, line) in text.split('\n').enumerate() {
            let line = line.strip_suffix('\r').unwrap_or(line);
            // pub warns about a pattern it cannot parse and goes on without it.
            if let Err(err) = builder.add_line(None, line) {
                let number = number + 1;
                let warning = format!("{path}:{number}: pattern {line:?} skipped: {err}");
                self.warnings.push(warning);
            }
        }
        Ok(Layer {
            dir,
            rules: Some(build(&builder, &path)?),
        })
    }
}

fn build(builder: &GitignoreBuilder, path: &str) -> Result<Gitignore, Error> {
    builder.build().map_err(|source| Error::IgnoreFile {
        path: path.to_owned(),
        source,
    })
}

/// Whether `path` (repository-relative, as seen through links) is excluded: the
/// deepest layer with a matching rule decides.
pub(super) fn ignored(layers: &[Layer], path: &str, is_dir: bool) -> bool {
    for layer in layers.iter().rev() {
        let Some(rules) = &layer.rules else { continue };
        match rules.matched(below(path, &layer.dir), is_dir) {
            Match::None => continue,
            Match::Ignore(_) => return true,
            Match::Whitelist(_) => return false,
        }
    }
    false
}
