//! `pubspec.yaml`: parsing it into the JSON object a version listing serves
//! (docs/protocol.md §1.3), and the dependency rules that make `dart pub publish`
//! refuse a package (§5.7, README.md "Releasing a package").

use serde_json::{Map, Value as Json};

use super::name;

mod scalar;
mod yaml;

/// SDKs pub knows for `sdk:` dependencies; any other name is a publish error.
const KNOWN_SDKS: &[&str] = &["dart", "flutter", "fuchsia"];

/// Why a `pubspec.yaml` cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "pubspec.yaml is not UTF-8 (invalid byte at offset {offset}){hint}; pub reads it as UTF-8, so save it in that encoding"
    )]
    NotUtf8 {
        offset: usize,
        hint: &'static str,
        #[source]
        source: std::str::Utf8Error,
    },
    #[error("pubspec.yaml is not valid YAML: {message}")]
    Yaml {
        /// 1-based, when the parser knows it.
        line: Option<usize>,
        column: Option<usize>,
        /// Says what is wrong, where, and how to fix it.
        message: String,
    },
    #[error("pubspec.yaml must be a map of fields like `name: my_package`, but it is {found}")]
    NotAMap { found: &'static str },
    #[error("pubspec.yaml has no `name`, or it is empty; add one, like `name: my_package`")]
    MissingName,
    #[error("`name` in pubspec.yaml must be a string like `my_package`, but it is {found}")]
    NameNotString { found: &'static str },
    #[error("pubspec.yaml has no `version`, or it is empty; add one, like `version: 1.0.0`")]
    MissingVersion,
    #[error(
        "`version` in pubspec.yaml must be a string like `1.0.0`, but YAML reads `{found}` as {kind}; write all three parts (`version: 1.2.0`) or quote it"
    )]
    VersionNotString { found: String, kind: &'static str },
    #[error("`dependencies` in pubspec.yaml must be a map of package names, but it is {found}")]
    DependenciesNotAMap { found: &'static str },
    #[error("pubspec.yaml: `{path}` is {value}, which JSON cannot represent; use a finite number")]
    NotJson { path: String, value: String },
    #[error("pubspec.yaml: a key under `{path}` is {found}; keys must be plain text")]
    ComplexKey { path: String, found: &'static str },
    #[error(
        "pubspec.yaml: `{path}` has the key `{key}` twice once keys are read as text (again at line {line}, column {column}); rename or remove one"
    )]
    DuplicateKey {
        path: String,
        key: String,
        line: usize,
        column: usize,
    },
}

/// A parsed `pubspec.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pubspec {
    pub name: String,
    /// The `version` text exactly as written; not checked against pub's grammar here.
    pub version: String,
    /// The whole document as JSON, key order preserved: what the listing serves
    /// as `pubspec`.
    pub json: Json,
}

/// Why `dart pub publish` would refuse an entry of `dependencies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForbiddenKind {
    /// `path:`: nobody but the author has that directory.
    Path,
    /// `sdk:` naming an SDK other than dart, flutter or fuchsia.
    UnknownSdk,
    /// `flutter` from anywhere but `sdk: flutter`.
    FlutterNotFromSdk,
    /// A source pub does not know (not hosted, git, path or sdk).
    UnknownSource,
    /// More than one source key.
    SeveralSources,
    /// A shape pub cannot parse, such as a bare number or `git:` without a URL.
    Malformed,
    /// A key that is not a package name.
    InvalidName,
    /// The package lists itself.
    OnItself,
}

/// One entry of `dependencies` that blocks publishing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForbiddenDependency {
    pub name: String,
    pub kind: ForbiddenKind,
    /// A sentence for the author saying what is wrong and how to fix it.
    pub message: String,
}

/// Prints the message, which already names the dependency.
impl std::fmt::Display for ForbiddenDependency {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Parses `pubspec.yaml` bytes.
pub fn parse(bytes: &[u8]) -> Result<Pubspec, Error> {
    let text = std::str::from_utf8(bytes).map_err(|source| Error::NotUtf8 {
        offset: source.valid_up_to(),
        hint: if bytes.starts_with(&[0xff, 0xfe]) || bytes.starts_with(&[0xfe, 0xff]) {
            " and looks like UTF-16"
        } else {
            ""
        },
        source,
    })?;
    // Editors on Windows write a byte-order mark, which Dart's YAML reader skips.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let json = yaml::to_json(text)?;
    if !json.is_object() {
        return Err(Error::NotAMap {
            found: json_kind(&json),
        });
    }
    let name = match json.get("name") {
        None | Some(Json::Null) => return Err(Error::MissingName),
        Some(Json::String(name)) => name.clone(),
        Some(other) => {
            return Err(Error::NameNotString {
                found: json_kind(other),
            });
        }
    };
    let version = match json.get("version") {
        None | Some(Json::Null) => return Err(Error::MissingVersion),
        Some(Json::String(version)) => version.clone(),
        Some(other) => {
            return Err(Error::VersionNotString {
                found: other.to_string(),
                kind: json_kind(other),
            });
        }
    };
    match json.get("dependencies") {
        None | Some(Json::Null | Json::Object(_)) => {}
        Some(other) => {
            return Err(Error::DependenciesNotAMap {
                found: json_kind(other),
            });
        }
    }
    Ok(Pubspec {
        name,
        version,
        json,
    })
}

impl Pubspec {
    /// Entries of `dependencies` that `dart pub publish` refuses as errors, in file order.
    ///
    /// Only `dependencies` counts: pub ignores `dev_dependencies` and
    /// `dependency_overrides` when publishing. Git dependencies are allowed (pub only
    /// warns), and so are `sdk:` dependencies on a known SDK (`flutter: {sdk: flutter}`).
    pub fn forbidden_dependencies(&self) -> Vec<ForbiddenDependency> {
        let Some(Json::Object(dependencies)) = self.json.get("dependencies") else {
            return Vec::new();
        };
        dependencies
            .iter()
            .filter_map(|(dependency, spec)| {
                let (kind, message) = check_dependency(&self.name, dependency, spec)?;
                Some(ForbiddenDependency {
                    name: dependency.clone(),
                    kind,
                    message,
                })
            })
            .collect()
    }
}

/// What is wrong with one dependency, if anything; the rules of pub's dependency
/// parser and its publish-time dependency validator.
fn check_dependency(package: &str, name: &str, spec: &Json) -> Option<(ForbiddenKind, String)> {
    use ForbiddenKind::*;
    if !name::is_listing_name(name) {
        return Some((InvalidName, format!("`{name}` is not a valid package name")));
    }
    if name == package {
        return Some((
            OnItself,
            format!("`{name}` lists itself as a dependency; remove it"),
        ));
    }
    let (source, description) = match spec {
        // A bare constraint (or nothing) means hosted.
        Json::Null | Json::String(_) => ("hosted", &Json::Null),
        Json::Object(map) => {
            if let Some(constraint) = map.get("version")
                && !(constraint.is_null() || constraint.is_string())
            {
                return Some((
                    Malformed,
                    format!(
                        "the `version` of `{name}` must be a constraint string; quote it, like `version: \"^1.0.0\"`"
                    ),
                ));
            }
            let mut sources = map.iter().filter(|(key, _)| *key != "version");
            match (sources.next(), sources.next()) {
                (None, _) => ("hosted", &Json::Null),
                (Some((source, description)), None) => (source.as_str(), description),
                (Some(_), Some(_)) => {
                    let keys: Vec<&str> = map
                        .keys()
                        .map(String::as_str)
                        .filter(|key| *key != "version")
                        .collect();
                    return Some((
                        SeveralSources,
                        format!(
                            "`{name}` names several sources ({}); a dependency may only have one",
                            keys.join(", ")
                        ),
                    ));
                }
            }
        }
        _ => {
            return Some((
                Malformed,
                format!(
                    "`{name}: {spec}` is not a version constraint; quote it, like `{name}: \"^1.0.0\"`"
                ),
            ));
        }
    };
    if name == "flutter" && source != "sdk" {
        return Some((
            FlutterNotFromSdk,
            "`flutter` must come from the Flutter SDK; write it as `flutter: {sdk: flutter}`"
                .to_string(),
        ));
    }
    match (source, description) {
        ("hosted", _) => None,
        ("git", Json::String(_)) => None,
        ("git", Json::Object(git)) => check_git(name, git),
        ("git", _) => Some((
            Malformed,
            format!("the `git` of `{name}` must be a URL or a map with a `url`"),
        )),
        ("path", _) => Some((
            Path,
            format!(
                "`{name}` is a path dependency, which `dart pub publish` refuses because nobody else has that directory; \
                 depend on a published version instead (with `hosted: <url>` for a private package), or move it to dev_dependencies"
            ),
        )),
        ("sdk", Json::String(sdk)) if KNOWN_SDKS.contains(&sdk.as_str()) => None,
        ("sdk", Json::String(sdk)) => Some((
            UnknownSdk,
            format!(
                "`{name}` comes from the SDK `{sdk}`, which pub does not know; the SDKs are dart, flutter and fuchsia"
            ),
        )),
        ("sdk", _) => Some((
            Malformed,
            format!("the `sdk` of `{name}` must be an SDK name, like `sdk: flutter`"),
        )),
        (other, _) => Some((
            UnknownSource,
            format!(
                "`{name}` uses the source `{other}`, which pub does not know; use `hosted`, `git` or `sdk`"
            ),
        )),
    }
}

fn check_git(name: &str, git: &Map<String, Json>) -> Option<(ForbiddenKind, String)> {
    if !git.get("url").is_some_and(Json::is_string) {
        return Some((
            ForbiddenKind::Malformed,
            format!("the `git` of `{name}` needs a `url` string"),
        ));
    }
    let bad = ["ref", "path", "tag_pattern"].into_iter().find(|key| {
        git.get(*key)
            .is_some_and(|v| !(v.is_null() || v.is_string()))
    })?;
    Some((
        ForbiddenKind::Malformed,
        format!("the `git.{bad}` of `{name}` must be a string"),
    ))
}

fn json_kind(json: &Json) -> &'static str {
    match json {
        Json::Null => "empty",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

#[cfg(test)]
mod golden;
#[cfg(test)]
mod tests;
