//! A real PostgreSQL for the tests of several replicas: `TAGPUB_TEST_DATABASE_URL`
//! names a server and a role that may create databases (`.ci/run` starts one); each
//! test gets a fresh database, dropped at the end. Without the variable the tests print
//! why they are skipped and pass, unless `TAGPUB_REQUIRE_POSTGRES=1` makes a missing
//! server a failure (CI sets it).

/// A database of one test's own.
pub struct TestDatabase {
    admin: String,
    name: String,
    /// `postgres://…/<name>`, for `store.database_url_env`.
    pub url: String,
}

/// A fresh database for `test`, or `None` (after saying so) when no server is named.
pub fn database(test: &str) -> Option<TestDatabase> {
    let Ok(admin) = std::env::var("TAGPUB_TEST_DATABASE_URL") else {
        assert!(
            std::env::var("TAGPUB_REQUIRE_POSTGRES").as_deref() != Ok("1"),
            "TAGPUB_REQUIRE_POSTGRES=1 but TAGPUB_TEST_DATABASE_URL is not set"
        );
        eprintln!(
            "SKIPPED {test}: no PostgreSQL; set TAGPUB_TEST_DATABASE_URL to a postgres:// URL of a role that may create databases (.ci/run does)"
        );
        return None;
    };
    let mut random = [0u8; 6];
    getrandom::fill(&mut random).expect("random bytes");
    let name = format!("tagpub_it_{}", hex::encode(random));
    let mut client = postgres::Client::connect(&admin, postgres::NoTls)
        .unwrap_or_else(|e| panic!("cannot reach TAGPUB_TEST_DATABASE_URL: {e}"));
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create a test database");
    let mut url = url::Url::parse(&admin).expect("TAGPUB_TEST_DATABASE_URL is a URL");
    url.set_path(&format!("/{name}"));
    Some(TestDatabase {
        admin,
        name,
        url: url.to_string(),
    })
}

impl TestDatabase {
    /// Runs `sql` in this database (to look at what tagpub stored).
    pub fn query_strings(&self, sql: &str) -> Vec<String> {
        let mut client = postgres::Client::connect(&self.url, postgres::NoTls).expect("connect");
        client
            .query(sql, &[])
            .expect("query")
            .iter()
            .map(|r| r.get(0))
            .collect()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}
