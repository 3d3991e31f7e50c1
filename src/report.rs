//! Errors as an operator reads them in the log: the whole chain of causes on one line,
//! so "the store is not usable" comes with the SQLite error that made it so.

/// `error: cause: cause of the cause`, skipping causes a message already repeats.
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

#[cfg(test)]
mod tests {
    #[derive(Debug, thiserror::Error)]
    #[error("cannot read the config file x.yaml")]
    struct Read {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn every_cause_is_named_once() {
        let e = Read {
            source: std::io::Error::other("permission denied"),
        };
        assert_eq!(
            super::chain(&e),
            "cannot read the config file x.yaml: permission denied"
        );
        let repeated = Read {
            source: std::io::Error::other("cannot read the config file x.yaml"),
        };
        assert_eq!(
            super::chain(&repeated),
            "cannot read the config file x.yaml"
        );
    }
}
