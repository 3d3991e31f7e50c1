//! `tag_pattern` from the configuration and tag names from a repository: parsing never
//! panics, a parsed pattern prints as written, and a tag matches exactly when it is
//! the pattern's tag for the text in place of `{{version}}`.
//!
//! Input: the pattern, a newline, then a tag name.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tagpub::config::TagPattern;

const PLACEHOLDER: &str = "{{version}}";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (pattern, tag) = text.split_once('\n').unwrap_or((text, ""));
    let Ok(parsed) = TagPattern::parse(pattern) else {
        assert_ne!(
            pattern.matches(PLACEHOLDER).count(),
            1,
            "{pattern:?} refused"
        );
        return;
    };
    assert_eq!(
        parsed.to_string(),
        pattern,
        "Display gives the pattern back"
    );
    assert_eq!(TagPattern::parse(&parsed.to_string()).as_ref(), Ok(&parsed));
    assert!(pattern.starts_with(parsed.prefix()));
    match parsed.candidate(tag) {
        Some(version) => {
            assert!(version.starts_with(|c: char| c.is_ascii_digit()));
            assert_eq!(
                parsed.tag_for(version),
                tag,
                "the candidate rebuilds the tag"
            );
            assert!(tag.starts_with(parsed.prefix()));
        }
        None => {
            // Then the tag is not prefix + (digit…) + suffix.
            let printed = parsed.to_string();
            let suffix = &printed[parsed.prefix().len() + PLACEHOLDER.len()..];
            let middle = tag
                .strip_prefix(parsed.prefix())
                .and_then(|rest| rest.strip_suffix(suffix));
            assert!(
                !middle.is_some_and(|m| m.starts_with(|c: char| c.is_ascii_digit())),
                "{tag:?} is {pattern:?} with a version, but was not matched"
            );
        }
    }
    // Every text starting with a digit round-trips through the pattern.
    if tag.starts_with(|c: char| c.is_ascii_digit()) {
        assert_eq!(parsed.candidate(&parsed.tag_for(tag)), Some(tag));
    }
});
