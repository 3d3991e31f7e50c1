use super::*;

fn v(text: &str) -> Version {
    Version::parse(text).expect("test versions are valid")
}

#[test]
fn parses_parts_and_keeps_text() {
    let version = v("01.2.3-beta.01+build.7");
    assert_eq!(
        (version.major(), version.minor(), version.patch()),
        (1, 2, 3)
    );
    assert_eq!(version.as_str(), "01.2.3-beta.01+build.7");
    assert_eq!(version.to_string(), "01.2.3-beta.01+build.7");
    assert_eq!(version.canonical(), "1.2.3-beta.1+build.7");
    assert!(!version.is_canonical());
    assert!(version.is_prerelease());
    assert!(!v("1.2.3+4").is_prerelease());
    assert_eq!("1.0.0".parse::<Version>(), Ok(v("1.0.0")));
}

#[test]
fn rejects_what_the_grammar_rejects() {
    for bad in [
        "",
        "1",
        "1.2",
        "1.2.3.4",
        "v1.2.3",
        "V1.0.0",
        "1.2.x",
        " 1.2.3",
        "1.2.3 ",
        "1.2.3\n",
        "1.2.3-",
        "1.2.3+",
        "1.2.3-a..b",
        "1.2.3-.a",
        "1.2.3-a.",
        "1.2.3+a+b",
        "1.2.3-a_b",
        "1.2.3-é",
        "1.2.3+a b",
        "-1.2.3",
        "1.-2.3",
        "１.2.3",
        "1..3",
        "+1.2.3",
    ] {
        assert!(
            matches!(Version::parse(bad), Err(Error::Malformed { .. })),
            "{bad:?} should be malformed"
        );
    }
    // `-` is an identifier character, so these are valid.
    assert_eq!(v("1.2.3--").canonical(), "1.2.3--");
    assert_eq!(v("1.2.3-a-b+c-d").canonical(), "1.2.3-a-b+c-d");
    assert_eq!(v("1.2.3+x-y").canonical(), "1.2.3+x-y");
}

#[test]
fn error_messages_say_how_to_fix() {
    let err = Version::parse("v1.2.3").unwrap_err().to_string();
    assert!(err.contains("drop the leading `v`"), "{err}");
    assert!(err.contains("`1.2.3`"), "{err}");
    let err = Version::parse("").unwrap_err().to_string();
    assert!(err.contains("empty"), "{err}");
    let err = Version::parse("1.2").unwrap_err().to_string();
    assert!(err.contains("three numbers"), "{err}");
    let err = Version::parse_canonical("01.2.3").unwrap_err();
    assert_eq!(
        err,
        Error::NotCanonical {
            text: "01.2.3".into(),
            canonical: "1.2.3".into()
        }
    );
    assert!(err.to_string().contains("write it as `1.2.3`"));
}

#[test]
fn numbers_overflow_like_dart_ints() {
    assert_eq!(v("9223372036854775807.0.0").major(), i64::MAX as u64);
    assert_eq!(v("00000000000000000000000001.0.0").major(), 1);
    for big in [
        "9223372036854775808.0.0",
        "0.18446744073709551616.0",
        "0.0.99999999999999999999",
    ] {
        assert!(
            matches!(Version::parse(big), Err(Error::Overflow { .. })),
            "{big}"
        );
    }
    let err = Version::parse("0.0.99999999999999999999")
        .unwrap_err()
        .to_string();
    assert!(err.contains("patch"), "{err}");
    // A pre-release identifier that does not fit stays a string, as in Dart.
    let huge = v("1.0.0-99999999999999999999");
    assert!(huge.is_canonical());
    assert!(huge < v("1.0.0-a"));
    assert!(huge > v("1.0.0-5"));
}

#[test]
fn canonical_form() {
    assert_eq!(v("1.2.3").canonical(), "1.2.3");
    assert!(v("1.2.3-beta.1+4").is_canonical());
    assert_eq!(v("01.02.03-01.dev+pre.02").canonical(), "1.2.3-1.dev+pre.2");
    assert_eq!(v("1.0.0-00").canonical(), "1.0.0-0");
    assert_eq!(v("1.0.0-0a").canonical(), "1.0.0-0a");
    assert!(Version::parse_canonical("1.0.0+001").is_err());
    assert!(Version::parse_canonical("0.0.0").is_ok());
    // Re-parsing the canonical text gives an equal version.
    let odd = v("007.0.0-01.x+02");
    assert_eq!(v(&odd.canonical()), odd);
}

#[test]
fn identifiers_are_numbers_the_way_dart_int_try_parse_says() {
    assert_eq!(v("1.0.0--1").canonical(), "1.0.0--1");
    assert!(v("1.0.0--1") < v("1.0.0-0"));
    assert_eq!(v("1.0.0-0x10").canonical(), "1.0.0-16");
    assert_eq!(v("1.0.0-0x10"), v("1.0.0-16"));
    assert_eq!(v("1.0.0-0XfF"), v("1.0.0-255"));
    assert_eq!(v("1.0.0--0x10"), v("1.0.0--16"));
    assert_eq!(v("1.0.0--0"), v("1.0.0-0"));
    assert_eq!(v("1.0.0-0xffffffffffffffff"), v("1.0.0--1"));
    assert_eq!(
        v("1.0.0--9223372036854775808").canonical(),
        "1.0.0--9223372036854775808"
    );
    for text in [
        "-",
        "--1",
        "0x",
        "0xg",
        "1-2",
        "0x-1",
        "-9223372036854775809",
    ] {
        assert_eq!(
            Identifier::parse(text),
            Identifier::Text(text.into()),
            "{text}"
        );
    }
}

#[test]
fn order_follows_pub() {
    let ascending = [
        "0.0.1",
        "0.1.0",
        "1.0.0-0",
        "1.0.0-1",
        "1.0.0-2",
        "1.0.0-10",
        "1.0.0-10.a",
        "1.0.0-A",
        "1.0.0-Z",
        "1.0.0-a",
        "1.0.0-a.0",
        "1.0.0-a.1",
        "1.0.0-a.b",
        "1.0.0-alpha",
        "1.0.0-b",
        "1.0.0-beta",
        "1.0.0-beta+1",
        "1.0.0",
        "1.0.0+0",
        "1.0.0+1",
        "1.0.0+2",
        "1.0.0+10",
        "1.0.0+a",
        "1.0.0+a.1",
        "1.0.1",
        "1.2.0",
        "1.10.0",
        "2.0.0-dev",
        "2.0.0",
        "10.0.0",
    ];
    for pair in ascending.windows(2) {
        assert!(v(pair[0]) < v(pair[1]), "{} < {}", pair[0], pair[1]);
        assert!(v(pair[1]) > v(pair[0]), "{} > {}", pair[1], pair[0]);
    }
    let mut shuffled: Vec<Version> = ascending.iter().rev().map(|t| v(t)).collect();
    shuffled.sort();
    let sorted: Vec<&str> = shuffled.iter().map(Version::as_str).collect();
    assert_eq!(sorted, ascending);
}

#[test]
fn build_metadata_makes_a_different_version() {
    assert_ne!(v("1.0.0"), v("1.0.0+1"));
    assert!(v("1.0.0") < v("1.0.0+1"));
    assert!(v("1.0.0+1") < v("1.0.0+2"));
    assert!(v("1.0.0-rc+5") < v("1.0.0"));
}

#[test]
fn equality_and_hash_use_parsed_parts() {
    use std::collections::HashSet;
    assert_eq!(v("1.0.0-01"), v("1.0.0-1"));
    assert_eq!(v("01.2.3"), v("1.2.3"));
    assert_eq!(v("1.0.0+01"), v("1.0.0+1"));
    assert_ne!(v("1.0.0-1"), v("1.0.0-1a"));
    let set: HashSet<Version> = ["1.0.0-01", "1.0.0-1", "01.0.0-1", "1.0.0"]
        .into_iter()
        .map(v)
        .collect();
    assert_eq!(set.len(), 2);
}

#[test]
fn priority_puts_stable_above_prerelease() {
    assert_eq!(v("1.0.0").cmp_priority(&v("2.0.0-beta")), Ordering::Greater);
    assert_eq!(v("2.0.0-beta").cmp_priority(&v("1.0.0")), Ordering::Less);
    assert_eq!(v("1.0.0").cmp_priority(&v("1.0.1")), Ordering::Less);
    assert_eq!(v("1.0.0-a").cmp_priority(&v("1.0.0-b")), Ordering::Less);
}

#[test]
fn latest_prefers_stable_and_skips_retracted() {
    let all: Vec<Version> = ["1.0.0", "1.1.0", "2.0.0-beta", "1.2.0"]
        .into_iter()
        .map(v)
        .collect();
    let pick = |retracted: &[&str]| {
        latest(all.iter().map(|x| (x, retracted.contains(&x.as_str())))).map(Version::as_str)
    };
    assert_eq!(pick(&[]), Some("1.2.0"));
    assert_eq!(pick(&["1.2.0"]), Some("1.1.0"));
    assert_eq!(pick(&["1.0.0", "1.1.0", "1.2.0"]), Some("2.0.0-beta"));
    assert_eq!(
        pick(&["1.0.0", "1.1.0", "1.2.0", "2.0.0-beta"]),
        Some("1.2.0")
    );
    assert_eq!(latest(std::iter::empty()), None);

    let pre: Vec<Version> = ["1.0.0-a", "1.0.0-b", "0.9.0-z"]
        .into_iter()
        .map(v)
        .collect();
    assert_eq!(
        latest(pre.iter().map(|x| (x, false))).map(Version::as_str),
        Some("1.0.0-b")
    );
    let builds: Vec<Version> = ["1.0.0+2", "1.0.0", "1.0.0+10"]
        .into_iter()
        .map(v)
        .collect();
    assert_eq!(
        latest(builds.iter().map(|x| (x, false))).map(Version::as_str),
        Some("1.0.0+10")
    );
}
