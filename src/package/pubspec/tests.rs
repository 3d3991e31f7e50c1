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
    // The unclosed `[` (serde_yaml pointed past it, at the end of the text: line 4, column 1).
    assert_eq!((*line, *column), (Some(3), Some(7)));
    assert!(err.to_string().contains("line 3, column 7"), "{err}");
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
        matches!(&err, Error::DuplicateKey { path, key, .. } if path == "map" && key == "1"),
        "{err:?}"
    );
}

#[test]
fn anchors_and_tags_resolve_to_plain_values() {
    let spec = ok("name: a\nversion: 1.0.0\nbase: &b {x: 1}\ncopy: *b\ncustom: !thing {y: 2}\n");
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

#[test]
fn a_number_reads_back_from_the_served_json_as_it_was_parsed() {
    // Found by fuzzing: serde_json's fast float parser read 2.2222222222222223e108 back
    // one unit off, so the catalog's copy of a pubspec could differ from the parsed one.
    let spec = ok(
        "name: flow\nversion: 0.0.1\nx: 2222222222222222222222222222222222222277777777777777777777777777777777777777777777777777777777777772222222222\n",
    );
    let served = serde_json::to_string(&spec.json).unwrap();
    let reread: serde_json::Value = serde_json::from_str(&served).unwrap();
    assert_eq!(reread, spec.json, "{served}");
}
