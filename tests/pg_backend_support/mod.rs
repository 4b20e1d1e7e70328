//! The PostgreSQL test schema for the backend's own tests (tests/postgres_*.rs):
//! `DOCTABLE_PG` names the server (default `host=127.0.0.1 user=root dbname=test`);
//! each test gets its own schema, dropped afterwards. With no server the test
//! prints one line and passes, unless `DOCTABLE_REQUIRE_PG=1`.
#![allow(dead_code)]

use doctable::postgres::driver as postgres;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};

pub const DEFAULT_PARAMS: &str = "host=127.0.0.1 user=root dbname=test";

pub fn base_params() -> String {
    std::env::var("DOCTABLE_PG").unwrap_or_else(|_| DEFAULT_PARAMS.to_owned())
}

/// A schema of its own for one test.
pub struct Schema {
    pub name: String,
    /// Connection parameters with `search_path` set to the schema.
    pub params: String,
    admin: postgres::Client,
}

impl Schema {
    /// A client of the test's own on the schema.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.params, postgres::NoTls).expect("connect")
    }

    /// Runs SQL as the admin client (outside the schema's search path).
    pub fn admin(&mut self) -> &mut postgres::Client {
        &mut self.admin
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name));
    }
}

/// The test's schema, or `None` (after one line on stderr) with no server.
pub fn schema() -> Option<Schema> {
    static SKIPPED: Once = Once::new();
    static SEQ: AtomicUsize = AtomicUsize::new(0);
    let base = base_params();
    let mut admin = match postgres::Client::connect(&base, postgres::NoTls) {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("DOCTABLE_REQUIRE_PG").as_deref() == Ok("1") {
                panic!("DOCTABLE_REQUIRE_PG=1 and no PostgreSQL server at {base}: {e}");
            }
            // Written to the process's stderr directly, past the test
            // harness's output capture: one line per test binary.
            SKIPPED.call_once(|| {
                use std::io::Write;
                let _ = writeln!(
                    std::io::stderr(),
                    "postgres tests skipped: no server at {base} (set DOCTABLE_PG=..., see README)"
                );
            });
            return None;
        }
    };
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let name = format!(
        "doctable_t_{}_{}_{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed),
        nanos
    );
    admin
        .batch_execute(&format!("CREATE SCHEMA {name}"))
        .expect("create schema");
    let params = format!("{base} options='-c search_path={name}'");
    Some(Schema {
        name,
        params,
        admin,
    })
}
