//! How the YAML reader reports what it refuses, and where it keeps serde_yaml's reading.

use crate::package::pubspec::{Error, Pubspec, parse};

fn ok(text: &str) -> Pubspec {
    parse(text.as_bytes()).expect("test pubspec is valid")
}

/// serde_yaml reported a duplicate at the start of its map (line 1, column 1 at the top
/// level), which points at the wrong line in a long pubspec.
#[test]
fn duplicate_key_is_reported_at_the_duplicate_with_the_first_line() {
    let err = parse(
        b"name: a\nversion: 1.0.0\ndependencies:\n  http: ^1.0.0\n  path: ^1.8.0\n  http: ^2.0.0\n",
    )
    .unwrap_err();
    let Error::Yaml { line, column, .. } = &err else {
        panic!("expected a YAML error, got {err:?}");
    };
    assert_eq!((*line, *column), (Some(6), Some(3)));
    let message = err.to_string();
    assert!(
        message.contains("`http`") && message.contains("first at line 4"),
        "{message}"
    );
    let err = parse(b"name: a\nversion: 1.0.0\nname: b\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Yaml {
                line: Some(3),
                column: Some(1),
                ..
            }
        ),
        "{err:?}"
    );
    // The same key spelled differently is still the same key.
    for spelling in ["'http'", "\"http\"", "!!str http"] {
        let text = format!(
            "name: a\nversion: 1.0.0\ndependencies:\n  http: ^1.0.0\n  {spelling}: ^2.0.0\n"
        );
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(
            matches!(err, Error::Yaml { line: Some(5), .. }),
            "{spelling}: {err:?}"
        );
    }
    let err = parse(b"name: a\nversion: 1.0.0\nm: {1: one, \"1\": uno}\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::DuplicateKey {
                line: 3,
                column: 13,
                ..
            }
        ),
        "{err:?}"
    );
}

/// libyaml reported every control character at line 1, column 1.
#[test]
fn control_character_is_reported_where_it_is() {
    let err = parse(b"name: a\nversion: 1.0.0\n# ok\ndescription: bell\x07\n").unwrap_err();
    assert!(
        matches!(
            err,
            Error::Yaml {
                line: Some(4),
                column: Some(18),
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("U+0007"), "{err}");
}

/// serde_yaml said only that more than one document is not supported, without where.
#[test]
fn second_document_is_refused_at_its_start() {
    for text in [
        "name: a\nversion: 1.0.0\n---\nname: b\n",
        "name: a\nversion: 1.0.0\n...\nname: b\n",
    ] {
        let err = parse(text.as_bytes()).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Yaml {
                    line: Some(3..=4),
                    ..
                }
            ),
            "{text:?}: {err:?}"
        );
    }
}

/// A few lines of aliases must not expand into gigabytes: refused, with the alias's place.
#[test]
fn alias_expansion_is_bounded() {
    let mut text =
        String::from("name: a\nversion: 1.0.0\na0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..8 {
        let previous = format!("*a{}", i - 1);
        text.push_str(&format!(
            "a{i}: &a{i} [{}]\n",
            [previous.as_str(); 10].join(", ")
        ));
    }
    let err = parse(text.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Yaml { line: Some(_), .. }), "{err:?}");
    assert!(err.to_string().contains("aliases"), "{err}");
}

/// YAML 1.1 (libyaml, which built the listings served so far) reads U+2028 as a line break,
/// YAML 1.2 as text: where the two agree the value is served as before, where they do not
/// it is refused rather than served differently.
#[test]
fn line_separator_is_read_as_before_or_refused() {
    let spec =
        ok("name: a\nversion: 1.0.0\nx: \"one \u{2028} two\"\ny: [a\u{2028}b]\n# c\u{2028}z: 1\n");
    assert_eq!(spec.json["x"], "one\u{2028}two");
    assert_eq!(spec.json["y"], serde_json::json!(["a\u{2028}b"]));
    assert_eq!(spec.json["z"], 1);
    let err = parse("name: a\nversion: 1.0.0\nx: |\n  a\u{2028}  b\n".as_bytes()).unwrap_err();
    assert!(
        matches!(err, Error::Yaml { line: Some(4), .. }) && err.to_string().contains("U+2028"),
        "{err:?}"
    );
}

/// serde_yaml bounded how often aliases are followed, not how much they add: a 1,000-item
/// list aliased 500 times (a few KiB) became half a million values, and a full-size upload
/// built this way exhausted the server's memory.
#[test]
fn wide_alias_expansion_is_refused_before_exhausting_memory() {
    let items = vec!["x"; 1000].join(", ");
    let aliases = vec!["*b"; 500].join(", ");
    let text = format!("name: a\nversion: 1.0.0\nbase: &b [{items}]\nl: [{aliases}]\n");
    let err = parse(text.as_bytes()).unwrap_err();
    assert!(matches!(err, Error::Yaml { line: Some(4), .. }), "{err:?}");
    assert!(err.to_string().contains("aliases"), "{err}");
    // Ordinary sharing is fine.
    let spec = ok("name: a\nversion: 1.0.0\nbase: &b {sdk: ^3.0.0}\nenvironment: *b\n");
    assert_eq!(spec.json["environment"]["sdk"], "^3.0.0");
}
