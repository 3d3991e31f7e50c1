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
    #[test]
    fn a_store_error_is_logged_with_its_sqlite_cause() {
        let e = crate::store::Error::Query {
            doing: "adding a version",
            source: rusqlite::Error::SqliteFailure(
                rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_BUSY),
                Some("database is locked".into()),
            ),
        };
        let text = super::chain(&e);
        assert!(
            text.starts_with("catalog query failed while adding a version: database is locked"),
            "{text}"
        );
    }
}
