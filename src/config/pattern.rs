//! `tag_pattern`: which tags of a repository are releases of a package.
//!
//! Same placeholder as pub's own git dependencies: `foo-v{{version}}`.

const PLACEHOLDER: &str = "{{version}}";

/// A tag pattern with exactly one `{{version}}` placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPattern {
    prefix: String,
    suffix: String,
}

impl TagPattern {
    /// Parses a pattern, or says what is wrong with it.
    pub fn parse(text: &str) -> Result<TagPattern, String> {
        let Some(at) = text.find(PLACEHOLDER) else {
            return Err(format!(
                "`{text}` has no {PLACEHOLDER} placeholder; write it like \"v{PLACEHOLDER}\""
            ));
        };
        let (prefix, rest) = text.split_at(at);
        let suffix = &rest[PLACEHOLDER.len()..];
        if suffix.contains(PLACEHOLDER) {
            return Err(format!("`{text}` has {PLACEHOLDER} more than once"));
        }
        Ok(TagPattern {
            prefix: prefix.to_string(),
            suffix: suffix.to_string(),
        })
    }

    /// The text in place of `{{version}}` when `tag` matches, whether or not it is a valid
    /// version. A tag is a release candidate only when that text starts with a digit: `v2`
    /// is a candidate of `v{{version}}` (and will be rejected as not a version), `vnext` is
    /// not a release at all.
    pub fn candidate<'t>(&self, tag: &'t str) -> Option<&'t str> {
        let middle = tag
            .strip_prefix(self.prefix.as_str())?
            .strip_suffix(self.suffix.as_str())?;
        middle
            .starts_with(|c: char| c.is_ascii_digit())
            .then_some(middle)
    }

    /// The fixed text before `{{version}}`; every matching tag starts with it.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The tag that would release `version`.
    pub fn tag_for(&self, version: &str) -> String {
        format!("{}{version}{}", self.prefix, self.suffix)
    }
}

impl std::fmt::Display for TagPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}{PLACEHOLDER}{}", self.prefix, self.suffix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_prefix_and_suffix() {
        let p = TagPattern::parse("foo-v{{version}}").unwrap();
        assert_eq!(p.candidate("foo-v1.2.3"), Some("1.2.3"));
        assert_eq!(p.candidate("foo-v1.2.3-beta.1+4"), Some("1.2.3-beta.1+4"));
        assert_eq!(p.candidate("bar-v1.2.3"), None);
        assert_eq!(p.candidate("foo-vnext"), None);
        let bare = TagPattern::parse("{{version}}").unwrap();
        assert_eq!(bare.candidate("1.0.0"), Some("1.0.0"));
        assert_eq!(bare.candidate("v1.0.0"), None);
        let suffixed = TagPattern::parse("release/{{version}}/final").unwrap();
        assert_eq!(suffixed.candidate("release/2.0.0/final"), Some("2.0.0"));
        assert_eq!(suffixed.tag_for("2.0.0"), "release/2.0.0/final");
        assert_eq!(suffixed.to_string(), "release/{{version}}/final");
    }

    #[test]
    fn placeholder_is_required_once() {
        assert!(TagPattern::parse("v1").is_err());
        assert!(TagPattern::parse("{{version}}-{{version}}").is_err());
    }
}
