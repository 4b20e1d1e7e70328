//! Fixtures for tests that need more than one connection to one database:
//! several connections at once, threads, or child processes. One generic
//! test body `fn <body><O: Opener>(s: &Shared<O>) -> TestResult` runs on each
//! strategy named in [`on_shared!`]: SQLite `Persistent` / `PerQuery` on a
//! fresh file in a temporary directory, and (with the `postgres` feature)
//! PostgreSQL `Persistent` / `PerQuery` / `Pool` in a fresh schema (see
//! tests/support/backends.rs, which must be included as `backends` first).
//!
//! A body opens as many connections as it likes with [`Shared::open`]. For
//! child processes, [`Shared::child_command`] re-runs the same test in this
//! test binary with the database's location and a role in the environment;
//! there the runner builds the same opener from the environment (no fresh
//! file or schema) and the body sees its role in [`Shared::role`].

#![allow(dead_code, unreachable_pub, unused_macros)]

use std::path::PathBuf;
use std::process::{Command, Stdio};

use doctable::Conn;

use crate::backends::{BoxError, Engine, Kind, TestResult};

/// Set in a child process: the opener's target (a file path or PostgreSQL
/// connection parameters).
pub const TARGET_ENV: &str = "DOCTABLE_SHARED_TARGET";
/// Set in a child process: what the child is to do (the body's own words).
pub const ROLE_ENV: &str = "DOCTABLE_SHARED_ROLE";

/// Opens new connections of one strategy to one database.
pub trait Opener: Send + Sync + Clone + 'static {
    /// The connection type.
    type Db: Conn<Backend: Engine> + Send + Sync + 'static;
    /// The strategy's name in test names (`persistent`, `pg_pool`, ...).
    const NAME: &'static str;
    /// A new connection (a new `Pool` for the pool strategy).
    fn open(&self) -> Result<Self::Db, BoxError>;
    /// Where the database is: given to a child process.
    fn target(&self) -> String;
    /// The opener for `target`.
    fn from_target(target: &str) -> Self;
}

/// SQLite `Persistent` on one file.
#[derive(Debug, Clone)]
pub struct SqlitePersistent(pub PathBuf);

impl Opener for SqlitePersistent {
    type Db = doctable::Persistent;
    const NAME: &'static str = "persistent";
    fn open(&self) -> Result<Self::Db, BoxError> {
        Ok(doctable::Persistent::open_with(
            &self.0,
            &crate::backends::sqlite_options(),
        )?)
    }
    fn target(&self) -> String {
        self.0.display().to_string()
    }
    fn from_target(target: &str) -> Self {
        SqlitePersistent(PathBuf::from(target))
    }
}

/// SQLite `PerQuery` on one file.
#[derive(Debug, Clone)]
pub struct SqlitePerQuery(pub PathBuf);

impl Opener for SqlitePerQuery {
    type Db = doctable::PerQuery;
    const NAME: &'static str = "per_query";
    fn open(&self) -> Result<Self::Db, BoxError> {
        Ok(doctable::PerQuery::open_with(
            &self.0,
            &crate::backends::sqlite_options(),
        )?)
    }
    fn target(&self) -> String {
        self.0.display().to_string()
    }
    fn from_target(target: &str) -> Self {
        SqlitePerQuery(PathBuf::from(target))
    }
}

/// PostgreSQL `Persistent` on one schema.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgPersistent(pub String);

#[cfg(feature = "postgres")]
impl Opener for PgPersistent {
    type Db = doctable::postgres::Persistent;
    const NAME: &'static str = "pg_persistent";
    fn open(&self) -> Result<Self::Db, BoxError> {
        Ok(doctable::postgres::Persistent::connect(&self.0)?)
    }
    fn target(&self) -> String {
        self.0.clone()
    }
    fn from_target(target: &str) -> Self {
        PgPersistent(target.to_owned())
    }
}

/// PostgreSQL `PerQuery` on one schema.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgPerQuery(pub String);

#[cfg(feature = "postgres")]
impl Opener for PgPerQuery {
    type Db = doctable::postgres::PerQuery;
    const NAME: &'static str = "pg_per_query";
    fn open(&self) -> Result<Self::Db, BoxError> {
        Ok(doctable::postgres::PerQuery::connect(&self.0)?)
    }
    fn target(&self) -> String {
        self.0.clone()
    }
    fn from_target(target: &str) -> Self {
        PgPerQuery(target.to_owned())
    }
}

/// PostgreSQL `Pool` of [`POOL_SIZE`] connections on one schema.
#[cfg(feature = "postgres")]
#[derive(Debug, Clone)]
pub struct PgPool(pub String);

/// How many connections each pool the tests open may hold.
pub const POOL_SIZE: u32 = 4;

#[cfg(feature = "postgres")]
impl Opener for PgPool {
    type Db = doctable::postgres::Pool;
    const NAME: &'static str = "pg_pool";
    fn open(&self) -> Result<Self::Db, BoxError> {
        Ok(doctable::postgres::Pool::connect(&self.0, POOL_SIZE)?)
    }
    fn target(&self) -> String {
        self.0.clone()
    }
    fn from_target(target: &str) -> Self {
        PgPool(target.to_owned())
    }
}

/// What a shared test body gets: the opener, the test's own name (for child
/// processes) and, in a child process, its role.
#[derive(Debug)]
pub struct Shared<O> {
    /// Opens connections to the test's database.
    pub opener: O,
    /// The test's name as libtest knows it (`body::strategy`).
    pub test: &'static str,
    /// In a child process, what it is to do; `None` in the test itself.
    pub role: Option<String>,
    /// A scratch directory of the test's own (stop files, say).
    pub scratch: PathBuf,
}

impl<O: Opener> Shared<O> {
    /// A new connection to the test's database.
    pub fn open(&self) -> Result<O::Db, BoxError> {
        self.opener.open()
    }

    /// The engine.
    pub fn kind(&self) -> Kind {
        <<O::Db as Conn>::Backend as Engine>::KIND
    }

    /// This test binary, running this same test as a child with `role` (and
    /// the database's location); the three standard streams piped.
    pub fn child_command(&self, role: &str) -> std::io::Result<Command> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["--exact", self.test, "--nocapture", "--test-threads=1"])
            .env(TARGET_ENV, self.opener.target())
            .env(ROLE_ENV, role)
            .env(SCRATCH_ENV, &self.scratch)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Ok(cmd)
    }
}

const SCRATCH_ENV: &str = "DOCTABLE_SHARED_SCRATCH";

/// In a child process: the parent's database and the child's role.
fn child_shared<O: Opener>(test: &'static str) -> Option<Shared<O>> {
    let target = std::env::var(TARGET_ENV).ok()?;
    Some(Shared {
        opener: O::from_target(&target),
        test,
        role: std::env::var(ROLE_ENV).ok(),
        scratch: std::env::var_os(SCRATCH_ENV)
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir),
    })
}

/// Runs `body` on a fresh SQLite file with the opener `O`.
pub fn on_sqlite<O: Opener>(
    test: &'static str,
    body: impl FnOnce(&Shared<O>) -> TestResult,
) -> TestResult {
    if let Some(shared) = child_shared(test) {
        return body(&shared);
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("test.db");
    let shared = Shared {
        opener: O::from_target(&path.display().to_string()),
        test,
        role: None,
        scratch: dir.path().to_owned(),
    };
    body(&shared)
}

/// Runs `body` in a fresh PostgreSQL schema with the opener `O` (skipped
/// without a server, see `backends::with_pg_schema`).
pub fn on_pg<O: Opener>(
    test: &'static str,
    body: impl FnOnce(&Shared<O>) -> TestResult,
) -> TestResult {
    if let Some(shared) = child_shared(test) {
        return body(&shared);
    }
    crate::backends::with_pg_schema(|schema| {
        let dir = tempfile::tempdir()?;
        let shared = Shared {
            opener: O::from_target(&schema.params),
            test,
            role: None,
            scratch: dir.path().to_owned(),
        };
        body(&shared)
    })
}

/// `on_shared!(body => [persistent, per_query, pg_persistent, pg_per_query,
/// pg_pool])`: one `#[test]` `body::<strategy>` per strategy named, each
/// running the generic `fn body<O: Opener>(s: &Shared<O>) -> TestResult`.
/// The `pg_` ones exist with the `postgres` feature only.
macro_rules! on_shared {
    ($($body:ident => [$($strategy:ident),* $(,)?]),* $(,)?) => {$(
        mod $body {
            #[allow(unused_imports)]
            use super::*;
            $( shared_test!($body, $strategy); )*
        }
    )*};
}

/// One strategy's test of [`on_shared!`].
macro_rules! shared_test {
    ($body:ident, persistent) => {
        #[test]
        fn persistent() -> $crate::backends::TestResult {
            $crate::shared::on_sqlite::<$crate::shared::SqlitePersistent>(
                concat!(stringify!($body), "::persistent"),
                |s| super::$body(s),
            )
        }
    };
    ($body:ident, per_query) => {
        #[test]
        fn per_query() -> $crate::backends::TestResult {
            $crate::shared::on_sqlite::<$crate::shared::SqlitePerQuery>(
                concat!(stringify!($body), "::per_query"),
                |s| super::$body(s),
            )
        }
    };
    ($body:ident, pg_persistent) => {
        #[cfg(feature = "postgres")]
        #[test]
        fn pg_persistent() -> $crate::backends::TestResult {
            $crate::shared::on_pg::<$crate::shared::PgPersistent>(
                concat!(stringify!($body), "::pg_persistent"),
                |s| super::$body(s),
            )
        }
    };
    ($body:ident, pg_per_query) => {
        #[cfg(feature = "postgres")]
        #[test]
        fn pg_per_query() -> $crate::backends::TestResult {
            $crate::shared::on_pg::<$crate::shared::PgPerQuery>(
                concat!(stringify!($body), "::pg_per_query"),
                |s| super::$body(s),
            )
        }
    };
    ($body:ident, pg_pool) => {
        #[cfg(feature = "postgres")]
        #[test]
        fn pg_pool() -> $crate::backends::TestResult {
            $crate::shared::on_pg::<$crate::shared::PgPool>(
                concat!(stringify!($body), "::pg_pool"),
                |s| super::$body(s),
            )
        }
    };
}
