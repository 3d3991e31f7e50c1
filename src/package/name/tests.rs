use super::*;

#[test]
fn accepts_publishable_names() {
    for name in [
        "foo", "foo_bar", "_private", "Foo", "fooBar2", "a", "_", "__", "x1_2",
    ] {
        assert_eq!(validate(name), Ok(()), "{name}");
    }
    assert_eq!(validate(&"a".repeat(MAX_LEN)), Ok(()));
}

#[test]
fn refuses_bad_characters_with_a_suggestion() {
    let err = validate("my-package").unwrap_err();
    assert_eq!(
        err,
        Error::InvalidCharacter {
            name: "my-package".into(),
            found: '-'
        }
    );
    assert!(
        err.to_string().contains("did you mean `my_package`?"),
        "{err}"
    );
    assert!(
        validate("my.package")
            .unwrap_err()
            .to_string()
            .contains("`my_package`")
    );
    for name in ["café", "a b", "a$", "foo/bar", "ab\n"] {
        assert!(
            matches!(validate(name), Err(Error::InvalidCharacter { .. })),
            "{name:?}"
        );
    }
    // No suggestion when replacing would not help.
    let err = validate("1-a").unwrap_err().to_string();
    assert!(!err.contains("did you mean"), "{err}");
}

#[test]
fn refuses_bad_starts_and_empty() {
    assert_eq!(validate(""), Err(Error::Empty));
    assert_eq!(
        validate("1foo"),
        Err(Error::InvalidStart {
            name: "1foo".into(),
            found: '1'
        })
    );
    assert!(
        validate("9")
            .unwrap_err()
            .to_string()
            .contains("letter or `_`")
    );
}

#[test]
fn refuses_reserved_words_case_insensitively() {
    for name in [
        "class", "Class", "NULL", "yield", "import", "type", "inline", "sealed",
    ] {
        assert!(
            matches!(validate(name), Err(Error::ReservedWord { .. })),
            "{name}"
        );
    }
    let err = validate("Class").unwrap_err().to_string();
    assert!(err.contains("reserved word `class`"), "{err}");
    for allowed in [
        "async",
        "base",
        "dynamic",
        "extension",
        "factory",
        "get",
        "show",
        "static",
        "sync",
        "typedef",
        "when",
        "classy",
        "nullable",
    ] {
        assert_eq!(validate(allowed), Ok(()), "{allowed}");
    }
}

#[test]
fn refuses_long_names() {
    let long = "a".repeat(MAX_LEN + 1);
    assert_eq!(
        validate(&long),
        Err(Error::TooLong {
            name: long.clone(),
            len: 65
        })
    );
    assert!(
        validate(&long)
            .unwrap_err()
            .to_string()
            .contains("at most 64")
    );
}

#[test]
fn listing_names_may_have_dots() {
    for name in ["foo", "foo.bar", "_a._b", "Foo.Bar9", "a.b.c", "class"] {
        assert!(is_listing_name(name), "{name}");
    }
    for name in [
        "", ".", "foo.", ".foo", "foo..bar", "foo.1bar", "1foo", "foo-bar", "é", "a b",
    ] {
        assert!(!is_listing_name(name), "{name:?}");
    }
}
