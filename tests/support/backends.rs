//! Fixtures that run one generic test body on every connection strategy of
//! every engine: SQLite (a fresh file in a temporary directory per test) and,
//! with the `postgres` feature, PostgreSQL (a fresh schema per test, dropped
//! afterwards, so tests run in parallel on one server).
//!
//! Include it with `#[macro_use] #[path = "support/backends.rs"] mod backends;`
//! and write each test body once, generic over `C: Conn` with
//! `C::Backend: Engine`; [`on_every_strategy!`] makes one `#[test]` per
//! strategy.
//!
//! PostgreSQL is reached with the connection parameters in `DOCTABLE_PG`
//! (default `host=127.0.0.1 user=root dbname=test`). With no server there, a
//! PostgreSQL test passes after printing one line per test binary, unless
//! `DOCTABLE_REQUIRE_PG` is set (as `.ci/run` does): then it fails, naming the
//! parameters (password redacted) and the connection error.

#![allow(dead_code, unreachable_pub)]

use std::io::Write;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use doctable::rusqlite;
use doctable::{Backend, Conn};

/// What a test body returns: `?` works on every error type.
pub type TestResult = Result<(), Box<dyn std::error::Error>>;

/// What a test body may return: nothing (it panics on failure) or a [`TestResult`].
pub trait IntoTestResult {
    /// As a [`TestResult`].
    fn into_test_result(self) -> TestResult;
}

impl IntoTestResult for () {
    fn into_test_result(self) -> TestResult {
        Ok(())
    }
}

impl IntoTestResult for TestResult {
    fn into_test_result(self) -> TestResult {
        self
    }
}

/// A boxed error of any kind.
pub type BoxError = Box<dyn std::error::Error>;

/// Which engine a backend is, for the assertions where engines differ in
/// meaning (each engine's documented behaviour is asserted, see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
}

/// A backend the tests can reach with raw SQL (for checks the crate's API does
/// not cover: catalogs, hand-written rows), through the backend's own
/// connection, so raw statements join the test's transaction.
pub trait Engine: Backend {
    /// Which engine this is.
    const KIND: Kind;
    /// Runs one or more statements without parameters.
    fn raw_batch(conn: &Self::Connection, sql: &str) -> Result<(), BoxError>;
    /// The first column of every row, read as an integer (NULL as `None`).
    fn raw_i64s(conn: &Self::Connection, sql: &str) -> Result<Vec<Option<i64>>, BoxError>;
    /// The first column of every row, read as text (NULL as `None`).
    fn raw_texts(conn: &Self::Connection, sql: &str) -> Result<Vec<Option<String>>, BoxError>;
    /// Whether a statement that fails on `conn` now aborts the whole open
    /// transaction: PostgreSQL inside a transaction (SQLSTATE 25P02 for every
    /// later statement until a rollback); never on SQLite, where only the
    /// statement fails.
    fn aborts_on_failure(conn: &Self::Connection) -> bool;
}

impl Engine for doctable::Sqlite {
    const KIND: Kind = Kind::Sqlite;
    fn aborts_on_failure(_conn: &rusqlite::Connection) -> bool {
        false
    }
    fn raw_batch(conn: &rusqlite::Connection, sql: &str) -> Result<(), BoxError> {
        Ok(conn.execute_batch(sql)?)
    }
    fn raw_i64s(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<Option<i64>>, BoxError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, Option<i64>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
    fn raw_texts(conn: &rusqlite::Connection, sql: &str) -> Result<Vec<Option<String>>, BoxError> {
        let mut stmt = conn.prepare(sql)?;
        let rows = stmt
            .query_map([], |r| r.get::<_, Option<String>>(0))?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(feature = "postgres")]
impl Engine for doctable::Postgres {
    const KIND: Kind = Kind::Postgres;
    fn aborts_on_failure(conn: &Self::Connection) -> bool {
        !<doctable::Postgres as Backend>::is_autocommit(conn)
    }
    fn raw_batch(conn: &Self::Connection, sql: &str) -> Result<(), BoxError> {
        Ok(conn.batch_execute(sql)?)
    }
    fn raw_i64s(conn: &Self::Connection, sql: &str) -> Result<Vec<Option<i64>>, BoxError> {
        let rows = conn.query(sql, &[])?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<_, Option<i64>>(0))
            .collect::<Result<Vec<_>, _>>()?)
    }
    fn raw_texts(conn: &Self::Connection, sql: &str) -> Result<Vec<Option<String>>, BoxError> {
        let rows = conn.query(sql, &[])?;
        Ok(rows
            .iter()
            .map(|r| r.try_get::<_, Option<String>>(0))
            .collect::<Result<Vec<_>, _>>()?)
    }
}

/// The engine of connection `C`.
pub fn kind<C: Conn>(_db: &C) -> Kind
where
    C::Backend: Engine,
{
    <C::Backend as Engine>::KIND
}

/// Runs raw statements on `db`'s connection (inside a transaction or savepoint).
pub fn raw_batch<C: Conn>(db: &C, sql: &str) -> Result<(), BoxError>
where
    C::Backend: Engine,
{
    db.atomic(|tx| Ok(<C::Backend as Engine>::raw_batch(tx.connection(), sql)))?
}

/// The first column of every row of a raw query on `db`, as integers.
pub fn raw_i64s<C: Conn>(db: &C, sql: &str) -> Result<Vec<Option<i64>>, BoxError>
where
    C::Backend: Engine,
{
    db.atomic(|tx| Ok(<C::Backend as Engine>::raw_i64s(tx.connection(), sql)))?
}

/// The one integer a raw query on `db` returns.
pub fn raw_i64<C: Conn>(db: &C, sql: &str) -> Result<i64, BoxError>
where
    C::Backend: Engine,
{
    match raw_i64s(db, sql)?.as_slice() {
        [Some(n)] => Ok(*n),
        other => Err(format!("expected one integer from {sql:?}, got {other:?}").into()),
    }
}

/// The first column of every row of a raw query on `db`, as text.
pub fn raw_texts<C: Conn>(db: &C, sql: &str) -> Result<Vec<Option<String>>, BoxError>
where
    C::Backend: Engine,
{
    db.atomic(|tx| Ok(<C::Backend as Engine>::raw_texts(tx.connection(), sql)))?
}

/// Whether a failed statement on `db` would abort the transaction it runs in
/// (PostgreSQL inside a transaction; see [`Engine::aborts_on_failure`]).
pub fn aborts_on_failure<C: Conn>(db: &C) -> bool
where
    C::Backend: Engine,
{
    db.with_connection(|c| Ok(<C::Backend as Engine>::aborts_on_failure(c)))
        .unwrap_or(false)
}

/// `expect_failure!(db, |c| call(c))`: runs a call expected to fail and
/// returns its error (panics on `Ok`), leaving `db` usable on every engine.
/// On PostgreSQL inside a transaction a failed statement aborts the whole
/// transaction (README "PostgreSQL"; pinned by
/// `postgres_differences::a_failed_statement_aborts_the_transaction`), so
/// there the call runs in a nested transaction (a savepoint, which the
/// failure rolls back): the documented way to go on after a failure. On
/// SQLite, and on PostgreSQL outside a transaction, it runs as it is.
macro_rules! expect_failure {
    ($db:expr, |$c:ident| $call:expr) => {{
        let db = $db;
        let result = if $crate::backends::aborts_on_failure(db) {
            doctable::Conn::atomic(db, |$c| $call)
        } else {
            let $c = db;
            $call
        };
        match result {
            Ok(value) => panic!("expected an error, got Ok({value:?})"),
            Err(e) => e,
        }
    }};
}

// ---------------------------------------------------------------------------
// SQLite runners: a fresh file in a temporary directory per test.

/// The options of the SQLite runners: the defaults, with the opt-in writer
/// queue on when `DOCTABLE_TEST_WRITER_QUEUE=1` (so the shared suites can
/// be run once through it).
pub fn sqlite_options() -> doctable::Options {
    let queued = std::env::var("DOCTABLE_TEST_WRITER_QUEUE").is_ok_and(|v| v == "1");
    doctable::Options::new().writer_queue(queued)
}

/// `body` on a `Persistent` over a fresh file; checks no transaction is left open.
pub fn on_persistent(body: impl FnOnce(&doctable::Persistent) -> TestResult) -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = doctable::Persistent::open_with(dir.path().join("test.db"), &sqlite_options())?;
    body(&db)?;
    assert!(
        db.with_rusqlite(|c| c.is_autocommit())?,
        "a transaction was left open"
    );
    Ok(())
}

/// `body` on a `PerQuery` over a fresh file.
pub fn on_per_query(body: impl FnOnce(&doctable::PerQuery) -> TestResult) -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = doctable::PerQuery::open_with(dir.path().join("test.db"), &sqlite_options())?;
    body(&db)
}

/// `body` on a `Pool` of three connections over a fresh file; checks no
/// pooled connection is left inside a transaction.
pub fn on_pool(body: impl FnOnce(&doctable::Pool) -> TestResult) -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = doctable::Pool::open_sized(dir.path().join("test.db"), &sqlite_options(), 3)?;
    body(&db)?;
    for _ in 0..db.size() {
        assert!(
            db.with_rusqlite(|c| c.is_autocommit())?,
            "a transaction was left open"
        );
    }
    Ok(())
}

/// `body` on the caller's own rusqlite `Connection`; checks the crate left it
/// open and outside any transaction.
pub fn on_connection(body: impl FnOnce(&rusqlite::Connection) -> TestResult) -> TestResult {
    let dir = tempfile::tempdir()?;
    let conn = rusqlite::Connection::open(dir.path().join("test.db"))?;
    body(&conn)?;
    assert!(conn.is_autocommit(), "a transaction was left open");
    // The crate did not close the caller's connection.
    let one: i64 = conn.query_row("SELECT 1", [], |r| r.get(0))?;
    assert_eq!(one, 1);
    Ok(())
}

/// `body` inside the caller's own rusqlite `Transaction`, which the runner
/// then rolls back: nothing the body did may survive (the crate must never
/// commit a transaction it was handed).
pub fn on_transaction(body: impl FnOnce(&rusqlite::Transaction<'_>) -> TestResult) -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("test.db");
    let mut conn = rusqlite::Connection::open(&path)?;
    {
        let tx = rusqlite::Connection::transaction(&mut conn)?;
        body(&tx)?;
        assert!(
            !tx.is_autocommit(),
            "the caller's transaction was ended by the crate"
        );
        tx.rollback()?;
    }
    let count_tables = |c: &rusqlite::Connection| -> rusqlite::Result<i64> {
        c.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
    };
    assert_eq!(count_tables(&conn)?, 0);
    assert_eq!(count_tables(&rusqlite::Connection::open(&path)?)?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------
// PostgreSQL: one schema per test.

/// The default connection parameters when `DOCTABLE_PG` is unset.
pub const DEFAULT_PG: &str = "host=127.0.0.1 user=root dbname=test";

/// The server's connection parameters: `DOCTABLE_PG`, or [`DEFAULT_PG`].
pub fn pg_base_params() -> String {
    std::env::var("DOCTABLE_PG")
        .ok()
        .filter(|s| !s.trim().is_empty())
        .unwrap_or_else(|| DEFAULT_PG.to_owned())
}

/// Whether an unreachable server must fail the test (`DOCTABLE_REQUIRE_PG`
/// set to anything but empty or `0`).
pub fn pg_required() -> bool {
    std::env::var("DOCTABLE_REQUIRE_PG").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `params` with any password replaced by `***` (key=value strings and URLs).
pub fn redact(params: &str) -> String {
    if let Some(rest) = params
        .strip_prefix("postgres://")
        .or_else(|| params.strip_prefix("postgresql://"))
    {
        let scheme = &params[..params.len() - rest.len()];
        let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
        if let Some((userinfo, host)) = authority.rsplit_once('@') {
            let user = userinfo.split(':').next().unwrap_or("");
            let tail = redact_query_password(tail);
            if userinfo.contains(':') {
                return format!("{scheme}{user}:***@{host}{tail}");
            }
            return format!("{scheme}{userinfo}@{host}{tail}");
        }
        return format!("{scheme}{authority}{}", redact_query_password(tail));
    }
    let mut out = Vec::new();
    for word in params.split_whitespace() {
        match word.split_once('=') {
            Some((key, _)) if key.trim().eq_ignore_ascii_case("password") => {
                out.push(format!("{key}=***"));
            }
            _ => out.push(word.to_owned()),
        }
    }
    out.join(" ")
}

fn redact_query_password(tail: &str) -> String {
    let Some((path, query)) = tail.split_once('?') else {
        return tail.to_owned();
    };
    let query: Vec<String> = query
        .split('&')
        .map(|pair| match pair.split_once('=') {
            Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
            _ => pair.to_owned(),
        })
        .collect();
    format!("{path}?{}", query.join("&"))
}

/// `base` with `search_path` set to `schema` for every session it opens,
/// and `synchronous_commit` off: a commit returns before its WAL reaches the
/// disk (it is as visible to every other session as ever; only a server
/// crash could lose it). No test in a per-test schema crashes the server
/// (tests/postgres_faults.rs, which does, runs its own cluster), and on a
/// loaded 2-core machine the flush per commit tripled the row-by-row tests.
pub fn with_search_path(base: &str, schema: &str) -> String {
    if base.starts_with("postgres://") || base.starts_with("postgresql://") {
        let sep = if base.contains('?') { '&' } else { '?' };
        format!("{base}{sep}options=-c%20search_path%3D{schema}%20-c%20synchronous_commit%3Doff")
    } else {
        format!("{base} options='-c search_path={schema} -c synchronous_commit=off'")
    }
}

/// Connects to `params` with the harness's own client (a bounded connect
/// timeout, so an absent server is noticed quickly).
pub fn pg_client(params: &str) -> Result<postgres::Client, postgres::Error> {
    let mut config: postgres::Config = params.parse()?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    config.connect(postgres::NoTls)
}

/// Whether the server answers; the first failure is printed once per test
/// binary (or is a panic when PostgreSQL is required).
fn pg_available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let base = pg_base_params();
    let state = AVAILABLE.get_or_init(|| match pg_client(&base) {
        Ok(_) => Ok(()),
        Err(e) => {
            if !pg_required() {
                // Written to the process's stderr directly, past the test
                // harness's output capture: one line per test binary.
                let _ = writeln!(
                    std::io::stderr(),
                    "postgres tests skipped: no server at {} (set DOCTABLE_PG=..., see README)",
                    redact(&base)
                );
            }
            Err(e.to_string())
        }
    });
    match state {
        Ok(()) => true,
        Err(e) if pg_required() => panic!(
            "DOCTABLE_REQUIRE_PG is set but the PostgreSQL server at {} cannot be reached: {e}",
            redact(&base)
        ),
        Err(_) => false,
    }
}

/// A schema of its own for one test, dropped (with everything in it) when
/// this value is dropped.
#[derive(Debug)]
pub struct PgSchema {
    /// The schema's name, `doctable_t_<unique>`.
    pub name: String,
    /// Connection parameters whose sessions use only this schema.
    pub params: String,
    base: String,
}

impl PgSchema {
    /// A fresh schema, or `None` when there is no server and PostgreSQL is
    /// not required (the skip line has then been printed).
    pub fn new() -> Option<PgSchema> {
        if !pg_available() {
            return None;
        }
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let name = format!(
            "doctable_t_{}_{}_{nanos}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let base = pg_base_params();
        let mut client =
            pg_client(&base).unwrap_or_else(|e| panic!("connect to {}: {e}", redact(&base)));
        client
            .batch_execute(&format!("CREATE SCHEMA \"{name}\""))
            .unwrap_or_else(|e| panic!("CREATE SCHEMA {name}: {e}"));
        let params = with_search_path(&base, &name);
        Some(PgSchema { name, params, base })
    }

    /// A schema for a test that cannot run without it: `None` ends the test
    /// (skipped, see [`PgSchema::new`]).
    pub fn client(&self) -> postgres::Client {
        pg_client(&self.params).unwrap_or_else(|e| panic!("connect to the test schema: {e}"))
    }

    /// The number of tables in this schema.
    pub fn table_count(&self) -> i64 {
        let mut client = self.client();
        client
            .query_one(
                "SELECT count(*) FROM pg_catalog.pg_tables WHERE schemaname = $1",
                &[&self.name],
            )
            .and_then(|row| row.try_get(0))
            .unwrap_or_else(|e| panic!("count tables: {e}"))
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        // A bounded wait: a test that failed by hanging may leave a session
        // holding locks in the schema; the drop then says so instead of
        // hanging too (the server drops the session when this process ends).
        let dropped = pg_client(&self.base).and_then(|mut c| {
            c.batch_execute(&format!(
                "SET lock_timeout = '10s'; DROP SCHEMA IF EXISTS \"{}\" CASCADE",
                self.name
            ))
        });
        if let Err(e) = dropped {
            let _ = writeln!(
                std::io::stderr(),
                "could not drop test schema {}: {e}",
                self.name
            );
        }
    }
}

/// Runs `body` with a fresh schema, or skips (returns `Ok`) when there is no
/// server and PostgreSQL is not required.
pub fn with_pg_schema(body: impl FnOnce(&PgSchema) -> TestResult) -> TestResult {
    match PgSchema::new() {
        Some(schema) => body(&schema),
        None => Ok(()),
    }
}

/// Makes one `#[test]` per strategy for each generic test body `fn
/// <body><C: Conn>(db: &C) -> TestResult where C::Backend: Engine`:
/// `<body>::persistent`, `::per_query`, `::pool`, `::external_connection`,
/// `::external_transaction` (SQLite) and, with the `postgres` feature,
/// `<body>::pg_persistent`, `::pg_per_query`, `::pg_pool`,
/// `::pg_external_client`, `::pg_external_transaction`.
macro_rules! on_every_strategy {
    ($($body:ident),* $(,)?) => {$(
        mod $body {
            #[allow(unused_imports)]
            use super::*;

            #[test]
            fn persistent() -> $crate::backends::TestResult {
                $crate::backends::on_persistent(|db| $crate::backends::IntoTestResult::into_test_result(super::$body(db)))
            }

            #[test]
            fn per_query() -> $crate::backends::TestResult {
                $crate::backends::on_per_query(|db| $crate::backends::IntoTestResult::into_test_result(super::$body(db)))
            }

            #[test]
            fn pool() -> $crate::backends::TestResult {
                $crate::backends::on_pool(|db| $crate::backends::IntoTestResult::into_test_result(super::$body(db)))
            }

            #[test]
            fn external_connection() -> $crate::backends::TestResult {
                $crate::backends::on_connection(|db| $crate::backends::IntoTestResult::into_test_result(super::$body(db)))
            }

            #[test]
            fn external_transaction() -> $crate::backends::TestResult {
                $crate::backends::on_transaction(|db| $crate::backends::IntoTestResult::into_test_result(super::$body(db)))
            }

            pg_strategies!($body);
        }
    )*};
}

/// The PostgreSQL half of [`on_every_strategy!`]; nothing without the feature.
#[cfg(not(feature = "postgres"))]
macro_rules! pg_strategies {
    ($body:ident) => {};
}

/// The PostgreSQL half of [`on_every_strategy!`].
#[cfg(feature = "postgres")]
macro_rules! pg_strategies {
    ($body:ident) => {
        #[test]
        fn pg_persistent() -> $crate::backends::TestResult {
            $crate::backends::on_pg_persistent(|db| {
                $crate::backends::IntoTestResult::into_test_result(super::$body(db))
            })
        }

        #[test]
        fn pg_per_query() -> $crate::backends::TestResult {
            $crate::backends::on_pg_per_query(|db| {
                $crate::backends::IntoTestResult::into_test_result(super::$body(db))
            })
        }

        #[test]
        fn pg_pool() -> $crate::backends::TestResult {
            $crate::backends::on_pg_pool(|db| {
                $crate::backends::IntoTestResult::into_test_result(super::$body(db))
            })
        }

        #[test]
        fn pg_external_client() -> $crate::backends::TestResult {
            $crate::backends::on_pg_client(|db| {
                $crate::backends::IntoTestResult::into_test_result(super::$body(db))
            })
        }

        #[test]
        fn pg_external_transaction() -> $crate::backends::TestResult {
            $crate::backends::on_pg_transaction(|db| {
                $crate::backends::IntoTestResult::into_test_result(super::$body(db))
            })
        }
    };
}

// ---------------------------------------------------------------------------
// PostgreSQL runners: a fresh schema per test.

/// `body` on a `postgres::Persistent` in a fresh schema.
#[cfg(feature = "postgres")]
pub fn on_pg_persistent(
    body: impl FnOnce(&doctable::postgres::Persistent) -> TestResult,
) -> TestResult {
    with_pg_schema(|schema| {
        let db = doctable::postgres::Persistent::connect(&schema.params)?;
        body(&db)
    })
}

/// `body` on a `postgres::PerQuery` in a fresh schema.
#[cfg(feature = "postgres")]
pub fn on_pg_per_query(
    body: impl FnOnce(&doctable::postgres::PerQuery) -> TestResult,
) -> TestResult {
    with_pg_schema(|schema| {
        let db = doctable::postgres::PerQuery::connect(&schema.params)?;
        body(&db)
    })
}

/// `body` on a `postgres::Pool` of four connections in a fresh schema.
#[cfg(feature = "postgres")]
pub fn on_pg_pool(body: impl FnOnce(&doctable::postgres::Pool) -> TestResult) -> TestResult {
    with_pg_schema(|schema| {
        let db = doctable::postgres::Pool::connect(&schema.params, 4)?;
        body(&db)
    })
}

/// Whether `client`'s session is inside a transaction block: a savepoint can
/// be set only there (elsewhere it is SQLSTATE 25P01; in an aborted one, 25P02).
#[cfg(feature = "postgres")]
pub fn pg_in_transaction(client: &mut postgres::Client) -> Result<bool, BoxError> {
    match client.batch_execute("SAVEPOINT doctable_probe") {
        Ok(()) => {
            client.batch_execute("RELEASE SAVEPOINT doctable_probe")?;
            Ok(true)
        }
        Err(e) if e.code() == Some(&postgres::error::SqlState::NO_ACTIVE_SQL_TRANSACTION) => {
            Ok(false)
        }
        // An aborted transaction (a statement in it failed) is still open.
        Err(e) if e.code() == Some(&postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION) => {
            Ok(true)
        }
        Err(e) => Err(e.into()),
    }
}

/// `body` on the caller's own `postgres::Client`, borrowed by the crate as
/// `External::new(&mut client)`; checks the crate left it open and outside
/// any transaction.
#[cfg(feature = "postgres")]
pub fn on_pg_client(
    body: impl FnOnce(&doctable::postgres::External<'_>) -> TestResult,
) -> TestResult {
    with_pg_schema(|schema| {
        let mut client = schema.client();
        {
            let external = doctable::postgres::External::new(&mut client)?;
            body(&external)?;
        }
        assert!(
            !pg_in_transaction(&mut client)?,
            "a transaction was left open on the caller's client"
        );
        Ok(())
    })
}

/// `body` inside the caller's own `postgres::Transaction`, borrowed by the
/// crate as `External::in_transaction(&mut txn)`, which the runner then
/// rolls back: nothing the body did may survive (the crate must never commit
/// or end it).
#[cfg(feature = "postgres")]
pub fn on_pg_transaction(
    body: impl FnOnce(&doctable::postgres::External<'_>) -> TestResult,
) -> TestResult {
    with_pg_schema(|schema| {
        let mut client = schema.client();
        let mut txn = client.transaction()?;
        {
            let external = doctable::postgres::External::in_transaction(&mut txn);
            body(&external)?;
        }
        // Still the caller's open transaction: a savepoint can be set in it
        // (or it is aborted by a failed statement of the body, and so open).
        match txn.batch_execute("SAVEPOINT still_open; RELEASE SAVEPOINT still_open") {
            Ok(()) => {}
            Err(e) if e.code() == Some(&postgres::error::SqlState::IN_FAILED_SQL_TRANSACTION) => {}
            Err(e) => {
                return Err(format!("the caller's transaction was ended by the crate: {e}").into());
            }
        }
        txn.rollback()?;
        assert!(!pg_in_transaction(&mut client)?);
        assert_eq!(schema.table_count(), 0, "the rollback left tables behind");
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Errors, as each engine words them.

/// Whether `err` is a constraint error on `table` naming `what`, written
/// SQLite's way (`table.column`). SQLite's message names `table.column`;
/// PostgreSQL's names the column in its detail (`Key (column)=(...)`), or the
/// constraint (`table_column_key`, `table_pkey`).
pub fn is_constraint_on(err: &doctable::Error, table: &str, what: &str) -> bool {
    let doctable::Error::Constraint {
        table: t, message, ..
    } = err
    else {
        return false;
    };
    if t != table {
        return false;
    }
    if message.contains(what) {
        return true;
    }
    let column = what.rsplit('.').next().unwrap_or(what);
    message.contains(&format!("({column})"))
        || message.contains(&format!("{table}_{column}_key"))
        || message.contains(&format!("{table}_pkey"))
}

/// Whether `err` is the engine's error for a statement on `table`, a table
/// that does not exist (SQLite: "no such table"; PostgreSQL: SQLSTATE 42P01,
/// "relation ... does not exist").
pub fn is_missing_table(err: &doctable::Error, table: &str) -> bool {
    is_driver_error_on(err, table)
        && (err.to_string().contains("no such table")
            || (err.to_string().contains("does not exist") && err.to_string().contains(table)))
}

/// Whether `err` is the engine's own error (`Error::Sqlite`,
/// `Error::Postgres`) for a statement on `table`.
pub fn is_driver_error_on(err: &doctable::Error, table: &str) -> bool {
    match err {
        doctable::Error::Sqlite { table: Some(t), .. } => t == table,
        #[cfg(feature = "postgres")]
        doctable::Error::Postgres { table: Some(t), .. } => t == table,
        _ => false,
    }
}
