//! `pubspec.yaml`: parsing it into the JSON object a version listing serves
//! (PUB_PROTOCOL.md §1.3), and the dependency rules that make `dart pub publish`
//! refuse a package (§5.7, PRODUCT.md "Which tags become versions").

use serde_json::{Map, Value as Json};
use serde_yaml::Value as Yaml;

use super::name;

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
    #[error("pubspec.yaml is not valid YAML: {source}")]
    Yaml {
        /// 1-based, when the parser knows it.
        line: Option<usize>,
        column: Option<usize>,
        #[source]
        source: serde_yaml::Error,
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
    #[error("pubspec.yaml: `{path}` has the key `{key}` twice once keys are read as text")]
    DuplicateKey { path: String, key: String },
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
    // Editors on Windows write a byte-order mark, which Dart's YAML reader skips but
    // serde_yaml mistakes for the start of a second document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let yaml: Yaml = serde_yaml::from_str(text).map_err(|source| Error::Yaml {
        line: source.location().map(|l| l.line()),
        column: source.location().map(|l| l.column()),
        source,
    })?;
    let json = to_json(yaml, "")?;
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

/// Converts YAML to JSON; `path` names the current node for error messages.
///
/// Scalar keys become their text (`1: x` becomes `"1": "x"`) because JSON keys are
/// strings; tags are dropped, keeping the tagged value.
fn to_json(yaml: Yaml, path: &str) -> Result<Json, Error> {
    Ok(match yaml {
        Yaml::Tagged(tagged) => to_json(tagged.value, path)?,
        Yaml::Null => Json::Null,
        Yaml::Bool(b) => Json::Bool(b),
        Yaml::String(s) => Json::String(s),
        Yaml::Number(n) => {
            if let Some(u) = n.as_u64() {
                Json::from(u)
            } else if let Some(i) = n.as_i64() {
                Json::from(i)
            } else {
                // serde_json refuses NaN and infinities: JSON has no spelling for them.
                let float = n.as_f64().and_then(serde_json::Number::from_f64);
                Json::Number(float.ok_or_else(|| Error::NotJson {
                    path: path.to_string(),
                    value: n.to_string(),
                })?)
            }
        }
        Yaml::Sequence(items) => Json::Array(
            items
                .into_iter()
                .enumerate()
                .map(|(i, item)| to_json(item, &format!("{path}[{i}]")))
                .collect::<Result<_, _>>()?,
        ),
        Yaml::Mapping(entries) => {
            let mut object = Map::with_capacity(entries.len());
            for (key, value) in entries {
                let key = key_text(key, path)?;
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                let value = to_json(value, &child)?;
                if object.insert(key.clone(), value).is_some() {
                    let path = place(path);
                    return Err(Error::DuplicateKey { path, key });
                }
            }
            Json::Object(object)
        }
    })
}

fn key_text(key: Yaml, path: &str) -> Result<String, Error> {
    match key {
        Yaml::Tagged(tagged) => key_text(tagged.value, path),
        Yaml::String(s) => Ok(s),
        Yaml::Null => Ok("null".to_string()),
        Yaml::Bool(b) => Ok(b.to_string()),
        Yaml::Number(n) => Ok(n.to_string()),
        Yaml::Sequence(_) => Err(Error::ComplexKey {
            path: place(path),
            found: "a list",
        }),
        Yaml::Mapping(_) => Err(Error::ComplexKey {
            path: place(path),
            found: "a map",
        }),
    }
}

/// A node's path for messages; the root's is empty.
fn place(path: &str) -> String {
    if path.is_empty() {
        "(top level)".to_string()
    } else {
        path.to_string()
    }
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
mod tests {
    use super::*;

    fn ok(text: &str) -> Pubspec {
        parse(text.as_bytes()).expect("test pubspec is valid")
    }

    fn forbidden(dependencies: &str) -> Vec<(String, ForbiddenKind)> {
        let text = format!("name: me\nversion: 1.0.0\ndependencies:\n{dependencies}");
        ok(&text)
            .forbidden_dependencies()
            .into_iter()
            .map(|f| (f.name, f.kind))
            .collect()
    }

    #[test]
    fn parses_name_version_and_json_in_order() {
        let spec = ok(
            "name: foo\nversion: 1.2.3+4\ndescription: Ça marche 😀 中文\nenvironment:\n  sdk: ^3.0.0\nzeta: 1\nalpha: [true, null, 1.5, -2]\n",
        );
        assert_eq!(spec.name, "foo");
        assert_eq!(spec.version, "1.2.3+4");
        assert_eq!(
            serde_json::to_string(&spec.json).expect("JSON values serialize"),
            r#"{"name":"foo","version":"1.2.3+4","description":"Ça marche 😀 中文","environment":{"sdk":"^3.0.0"},"zeta":1,"alpha":[true,null,1.5,-2]}"#
        );
    }

    #[test]
    fn keeps_non_ascii_text_exactly() {
        let spec = ok(
            "name: foo\nversion: 1.0.0\nauthor: \"J\\u00fcrgen \\U0001F600\"\nnote: 'Zoë — naïve ｆｕｌｌ'\n",
        );
        assert_eq!(spec.json["author"], "Jürgen 😀");
        assert_eq!(spec.json["note"], "Zoë — naïve ｆｕｌｌ");
    }

    #[test]
    fn refuses_bytes_that_are_not_utf8() {
        let err = parse(b"name: caf\xe9\nversion: 1.0.0\n").unwrap_err();
        assert!(matches!(err, Error::NotUtf8 { offset: 9, .. }), "{err:?}");
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        let utf16: Vec<u8> = [0xff, 0xfe]
            .into_iter()
            .chain("name: a".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        let err = parse(&utf16).unwrap_err().to_string();
        assert!(err.contains("UTF-16"), "{err}");
    }

    #[test]
    fn accepts_a_byte_order_mark() {
        assert_eq!(ok("\u{feff}name: foo\nversion: 1.0.0\n").name, "foo");
    }

    #[test]
    fn reports_yaml_syntax_errors_with_position() {
        let err = parse(b"name: foo\nversion: 1.0.0\nlist: [\n").unwrap_err();
        let Error::Yaml { line, column, .. } = &err else {
            panic!("expected a YAML error, got {err:?}");
        };
        assert_eq!((*line, *column), (Some(4), Some(1)));
        assert!(err.to_string().contains("line 4"), "{err}");
        assert!(matches!(
            parse(b"name: a\nname: b\n"),
            Err(Error::Yaml { .. })
        ));
        assert!(matches!(
            parse(b"name: a\n---\nname: b\n"),
            Err(Error::Yaml { .. })
        ));
    }

    #[test]
    fn top_level_must_be_a_map() {
        for (text, found) in [
            ("", "empty"),
            ("# nothing\n", "empty"),
            ("- a\n", "a list"),
            ("hello", "a string"),
            ("!t [1]", "a list"),
        ] {
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(
                matches!(err, Error::NotAMap { found: f } if f == found),
                "{text:?}: {err:?}"
            );
        }
    }

    #[test]
    fn name_must_be_a_string() {
        assert!(matches!(
            parse(b"version: 1.0.0\n"),
            Err(Error::MissingName)
        ));
        assert!(matches!(
            parse(b"name:\nversion: 1.0.0\n"),
            Err(Error::MissingName)
        ));
        assert!(matches!(
            parse(b"name: 12\nversion: 1.0.0\n"),
            Err(Error::NameNotString { found: "a number" })
        ));
        assert!(matches!(
            parse(b"name: [a]\nversion: 1.0.0\n"),
            Err(Error::NameNotString { found: "a list" })
        ));
        assert_eq!(ok("name: \"12\"\nversion: 1.0.0\n").name, "12");
    }

    #[test]
    fn version_must_be_a_string() {
        assert!(matches!(parse(b"name: foo\n"), Err(Error::MissingVersion)));
        assert!(matches!(
            parse(b"name: foo\nversion: ~\n"),
            Err(Error::MissingVersion)
        ));
        let err = parse(b"name: foo\nversion: 1.0\n").unwrap_err();
        assert!(
            matches!(&err, Error::VersionNotString { found, kind: "a number" } if found == "1.0"),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains("quote it") && message.contains("1.2.0"),
            "{message}"
        );
        assert!(matches!(
            parse(b"name: foo\nversion: 2\n"),
            Err(Error::VersionNotString { .. })
        ));
        assert!(matches!(
            parse(b"name: foo\nversion: true\n"),
            Err(Error::VersionNotString {
                kind: "a boolean",
                ..
            })
        ));
        // Quoted or tagged text is text, even when it is not a valid version.
        assert_eq!(ok("name: foo\nversion: \"1.0\"\n").version, "1.0");
        assert_eq!(ok("name: foo\nversion: !!str 1.0\n").version, "1.0");
        assert_eq!(ok("name: foo\nversion: 01.2.3\n").version, "01.2.3");
    }

    #[test]
    fn refuses_values_json_cannot_hold() {
        for (text, path) in [
            ("name: a\nversion: 1.0.0\nx: .nan\n", "x"),
            ("name: a\nversion: 1.0.0\nx:\n  y: [1, -.inf]\n", "x.y[1]"),
            ("name: a\nversion: 1.0.0\nx: {1: .inf}\n", "x.1"),
        ] {
            let err = parse(text.as_bytes()).unwrap_err();
            assert!(
                matches!(&err, Error::NotJson { path: p, .. } if p == path),
                "{text:?}: {err:?}"
            );
        }
        let err = parse(b"name: a\nversion: 1.0.0\n? [1, 2]\n: v\n").unwrap_err();
        assert!(
            matches!(
                err,
                Error::ComplexKey {
                    found: "a list",
                    ..
                }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn scalar_keys_become_text() {
        let spec = ok(
            "name: a\nversion: 1.0.0\nmap:\n  1: one\n  2.5: two\n  true: yes\n  ~: nothing\n  !tag k: tagged\n",
        );
        assert_eq!(
            serde_json::to_string(&spec.json["map"]).expect("JSON values serialize"),
            r#"{"1":"one","2.5":"two","true":"yes","null":"nothing","k":"tagged"}"#
        );
        let err = parse(b"name: a\nversion: 1.0.0\nmap:\n  1: one\n  \"1\": uno\n").unwrap_err();
        assert!(
            matches!(&err, Error::DuplicateKey { path, key } if path == "map" && key == "1"),
            "{err:?}"
        );
    }

    #[test]
    fn anchors_and_tags_resolve_to_plain_values() {
        let spec =
            ok("name: a\nversion: 1.0.0\nbase: &b {x: 1}\ncopy: *b\ncustom: !thing {y: 2}\n");
        assert_eq!(spec.json["copy"], serde_json::json!({"x": 1}));
        assert_eq!(spec.json["custom"], serde_json::json!({"y": 2}));
    }

    #[test]
    fn dependencies_must_be_a_map() {
        assert!(matches!(
            parse(b"name: a\nversion: 1.0.0\ndependencies: [foo]\n"),
            Err(Error::DependenciesNotAMap { found: "a list" })
        ));
        assert!(
            ok("name: a\nversion: 1.0.0\ndependencies:\n")
                .forbidden_dependencies()
                .is_empty()
        );
        assert!(
            ok("name: a\nversion: 1.0.0\n")
                .forbidden_dependencies()
                .is_empty()
        );
    }

    #[test]
    fn ordinary_dependencies_are_allowed() {
        let deps = "  http: ^1.0.0\n  any_dep:\n  meta: {version: '>=1.0.0 <2.0.0'}\n  priv: {hosted: 'https://pub.example.com', version: ^1.0.0}\n  priv2: {hosted: {name: priv2, url: 'https://x'}}\n  flutter: {sdk: flutter}\n  flutter_localizations: {sdk: flutter}\n  dartsdk: {sdk: dart}\n  fx: {sdk: fuchsia}\n  kittens: {git: 'https://github.com/munificent/kittens.git'}\n  cats: {git: {url: 'git@github.com:x/cats.git', ref: main, path: pkgs/cats, tag_pattern: 'v{{version}}'}}\n";
        assert_eq!(forbidden(deps), vec![]);
    }

    #[test]
    fn path_dependencies_are_forbidden_only_in_dependencies() {
        let text = "name: me\nversion: 1.0.0\ndependencies:\n  shared: {path: ../shared}\n  http: ^1.0.0\ndev_dependencies:\n  tools: {path: ../tools}\ndependency_overrides:\n  http: {path: ../http}\n";
        let found = ok(text).forbidden_dependencies();
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].name.as_str(), found[0].kind),
            ("shared", ForbiddenKind::Path)
        );
        assert!(
            found[0].message.contains("dev_dependencies"),
            "{}",
            found[0].message
        );
        assert_eq!(found[0].to_string(), found[0].message);
        assert_eq!(
            forbidden("  p:\n    path: 5\n"),
            vec![("p".into(), ForbiddenKind::Path)]
        );
    }

    #[test]
    fn sdk_dependencies_must_name_a_known_sdk() {
        assert_eq!(
            forbidden("  x: {sdk: flutterr}\n"),
            vec![("x".into(), ForbiddenKind::UnknownSdk)]
        );
        assert_eq!(
            forbidden("  x: {sdk: [flutter]}\n"),
            vec![("x".into(), ForbiddenKind::Malformed)]
        );
        assert_eq!(forbidden("  x: {sdk: flutter, version: ^1.0.0}\n"), vec![]);
    }

    #[test]
    fn flutter_must_come_from_the_sdk() {
        for spec in [
            "^3.0.0",
            "",
            "{git: 'https://x/flutter.git'}",
            "{path: ../flutter}",
            "{hosted: 'https://x'}",
        ] {
            let found = forbidden(&format!("  flutter: {spec}\n"));
            assert_eq!(
                found,
                vec![("flutter".into(), ForbiddenKind::FlutterNotFromSdk)],
                "{spec}"
            );
        }
    }

    #[test]
    fn malformed_dependencies_are_forbidden() {
        use ForbiddenKind::*;
        let found = forbidden(
            "  num: 1.0\n  list: [a]\n  both: {git: 'https://x', path: ../y}\n  weird: {svn: 'x'}\n  badver: {version: 1}\n  nourl: {git: {ref: main}}\n  badref: {git: {url: 'https://x', ref: 3}}\n  badgit: {git: 5}\n  bad-name: ^1.0.0\n  me: ^1.0.0\n",
        );
        let expected = [
            ("num", Malformed),
            ("list", Malformed),
            ("both", SeveralSources),
            ("weird", UnknownSource),
            ("badver", Malformed),
            ("nourl", Malformed),
            ("badref", Malformed),
            ("badgit", Malformed),
            ("bad-name", InvalidName),
            ("me", OnItself),
        ];
        let expected: Vec<(String, ForbiddenKind)> = expected
            .into_iter()
            .map(|(n, k)| (n.to_string(), k))
            .collect();
        assert_eq!(found, expected);
    }

    #[test]
    fn messages_say_how_to_fix() {
        let text = "name: me\nversion: 1.0.0\ndependencies:\n  num: 1.0\n  both: {git: 'https://x', path: ../y, version: ^1.0.0}\n  flutter: ^3.0.0\n";
        let messages: Vec<String> = ok(text)
            .forbidden_dependencies()
            .into_iter()
            .map(|f| f.message)
            .collect();
        assert!(messages[0].contains(r#"num: "^1.0.0""#), "{}", messages[0]);
        assert!(messages[1].contains("(git, path)"), "{}", messages[1]);
        assert!(messages[2].contains("sdk: flutter"), "{}", messages[2]);
    }
}
