//! What is particular to each connection strategy: `Persistent` (shared
//! between threads, refuses re-entrant use instead of deadlocking),
//! `PerQuery` (refuses in-memory databases, opens per call), the options every
//! connection the crate opens gets, and opening files that are not databases.
//!
//! The tests that mean the same on both engines are written once
//! (`on_shared!`, tests/support/shared.rs) and run on SQLite's `Persistent` /
//! `PerQuery` and PostgreSQL's `Persistent` / `PerQuery` / `Pool`, each
//! PostgreSQL test in its own schema. The rest are SQLite's own (PRAGMA
//! settings, busy timeout, files, in-memory databases; README "What runs on
//! which engine"). Transactions, savepoints and rollback on `Err` and on a
//! panic, on every strategy of both engines, are in tests/crud.rs.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use doctable::rusqlite;
use doctable::{Conn, DocTable, Error, Options, PerQuery, Persistent, Synchronous};

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[macro_use]
#[path = "support/shared.rs"]
mod shared;
use backends::{Kind, TestResult};
use shared::{Opener, Shared};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    title: String,
    year: i64,
}

fn doc(title: &str) -> Doc {
    Doc {
        id: None,
        title: title.to_owned(),
        year: 2000,
    }
}

fn titles<C: Conn>(db: &C) -> doctable::Result<Vec<String>> {
    Doc::select_cols(Doc::title).order_by(Doc::id).all(db)
}

fn expect_err<T: std::fmt::Debug>(result: doctable::Result<T>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

/// Runs `f` on another thread and fails if it does not finish within `limit`
/// (a deadlock would otherwise hang the test run).
fn within(limit: Duration, f: impl FnOnce() -> TestResult + Send + 'static) -> TestResult {
    let (send, recv) = mpsc::channel();
    let handle = thread::spawn(move || {
        let result = f().map_err(|e| e.to_string());
        let _ = send.send(result);
    });
    match recv.recv_timeout(limit) {
        Ok(result) => {
            let _ = handle.join();
            result.map_err(Into::into)
        }
        Err(RecvTimeoutError::Timeout) => panic!("did not finish within {limit:?}: deadlock?"),
        Err(RecvTimeoutError::Disconnected) => match handle.join() {
            Err(panic) => std::panic::resume_unwind(panic),
            Ok(()) => Err("the worker thread ended without a result".into()),
        },
    }
}

/// Reads the connection settings this crate cares about.
#[derive(Debug, PartialEq)]
struct Pragmas {
    journal_mode: String,
    foreign_keys: i64,
    synchronous: i64,
    /// SQLite's own busy timeout, which the crate leaves at 0: its own busy
    /// handler (short jittered waits) keeps to `Options::busy_timeout`,
    /// pinned by `busy_timeout_bounds_the_wait_for_another_writer`.
    busy_timeout: i64,
}

fn pragmas(c: &rusqlite::Connection) -> rusqlite::Result<Pragmas> {
    Ok(Pragmas {
        journal_mode: c.pragma_query_value(None, "journal_mode", |r| r.get(0))?,
        foreign_keys: c.pragma_query_value(None, "foreign_keys", |r| r.get(0))?,
        synchronous: c.pragma_query_value(None, "synchronous", |r| r.get(0))?,
        busy_timeout: c.pragma_query_value(None, "busy_timeout", |r| r.get(0))?,
    })
}

fn defaults() -> Pragmas {
    Pragmas {
        journal_mode: "wal".to_owned(),
        foreign_keys: 1,
        synchronous: 1,
        busy_timeout: 0,
    }
}

// ---------------------------------------------------------------------------
// PerQuery

#[test]
fn per_query_refuses_in_memory_databases() {
    for path in [
        ":memory:",
        "",
        "file::memory:",
        "file::memory:?cache=shared",
        "file:shared?mode=memory&cache=shared",
    ] {
        let err = expect_err(PerQuery::open(path));
        match &err {
            Error::Usage(message) => {
                assert!(message.contains("in-memory"), "{message}");
                assert!(
                    message.contains("Persistent"),
                    "says what to use instead: {message}"
                );
            }
            other => panic!("{path:?}: expected Error::Usage, got {other:?}"),
        }
    }
    let err = expect_err(PerQuery::open(":memory:"));
    assert!(err.to_string().contains(":memory:"), "{err}");
    let err = expect_err(PerQuery::open_with(":memory:", &Options::new()));
    assert!(
        matches!(&err, Error::Usage(m) if m.contains(":memory:")),
        "{err:?}"
    );
}

on_shared!(
    temp_tables_live_as_long_as_their_connection => [persistent, per_query, pg_persistent, pg_per_query],
);

/// A TEMP table lives only as long as its connection: `PerQuery` has a new
/// connection for every call, so the next call does not see it; `Persistent`
/// keeps its one connection, so it does.
fn temp_tables_live_as_long_as_their_connection<O: Opener>(s: &Shared<O>) -> TestResult {
    let db = s.open()?;
    let (create, count) = match s.kind() {
        Kind::Sqlite => (
            "CREATE TEMP TABLE scratch (x)",
            "SELECT count(*) FROM sqlite_temp_master WHERE name = 'scratch'",
        ),
        Kind::Postgres => (
            "CREATE TEMP TABLE scratch (x bigint)",
            "SELECT count(*) FROM (SELECT to_regclass('pg_temp.scratch') AS t) s WHERE t IS NOT NULL",
        ),
    };
    backends::raw_batch(&db, create)?;
    let seen = backends::raw_i64(&db, count)?;
    if O::NAME.ends_with("per_query") {
        assert_eq!(seen, 0, "the next call had a new connection");
    } else {
        assert_eq!(seen, 1, "the next call had the same connection");
    }
    Ok(())
}

#[test]
fn per_query_inside_its_own_transaction_is_refused_at_once() -> TestResult {
    // PerQuery's outer handle would open another connection and wait for the
    // transaction's write lock until the busy timeout (5 s here): it is refused
    // at once instead, with a message that says to use the `tx`.
    let dir = tempfile::tempdir()?;
    let db = PerQuery::open(dir.path().join("busy.db"))?;
    assert_eq!(db.path(), dir.path().join("busy.db"));
    Doc::create_table(&db)?;
    let started = Instant::now();
    db.transaction(|tx| {
        Doc::insert(tx, &doc("inside"))?;
        let err = expect_err(Doc::insert(&db, &doc("outside")));
        assert!(
            matches!(&err, Error::Usage(m) if m.contains("`tx`")),
            "{err:?}"
        );
        Ok(())
    })?;
    assert!(started.elapsed() < Duration::from_secs(1), "no busy wait");
    // The mark is gone with the transaction: the handle works again.
    Doc::insert(&db, &doc("after"))?;
    assert_eq!(titles(&db)?, ["inside", "after"]);
    Ok(())
}

// ---------------------------------------------------------------------------
// Persistent

const _: () = {
    const fn send_and_sync<T: Send + Sync>() {}
    send_and_sync::<Persistent>();
    send_and_sync::<Arc<Persistent>>();
    send_and_sync::<PerQuery>();
    send_and_sync::<Error>();
    #[cfg(feature = "postgres")]
    {
        send_and_sync::<doctable::postgres::Persistent>();
        send_and_sync::<Arc<doctable::postgres::Persistent>>();
        send_and_sync::<doctable::postgres::PerQuery>();
        send_and_sync::<doctable::postgres::Pool>();
    }
};

on_shared!(
    serves_many_threads_through_an_arc => [persistent, per_query, pg_persistent, pg_per_query, pg_pool],
    used_inside_its_own_transaction_is_an_error_not_a_deadlock => [persistent, pg_persistent],
    other_threads_wait_for_a_transaction_instead_of_failing => [persistent, pg_persistent],
    a_panic_in_one_threads_transaction_leaves_the_connection_usable =>
        [persistent, per_query, pg_persistent, pg_per_query, pg_pool],
    a_connection_per_call_inside_its_own_transaction_is_refused_at_once =>
        [per_query, pg_per_query, pg_pool],
);

/// A `PerQuery` (or `Pool`) used instead of the `tx` inside its own
/// transaction would run on another connection, outside the transaction. A
/// write there is refused at once on both engines: on SQLite it could only
/// wait for the transaction's write lock until the busy timeout; on
/// PostgreSQL a write of the row the transaction holds (here: the same
/// UNIQUE title) would wait for it forever. Reads and nested transactions
/// are refused too (they would not see the transaction's rows). Outside a
/// transaction, a call inside another (a count inside a `for_each`
/// callback) still runs, on its own connection.
fn a_connection_per_call_inside_its_own_transaction_is_refused_at_once<O: Opener>(
    s: &Shared<O>,
) -> TestResult {
    let opener = s.opener.clone();
    within(Duration::from_secs(20), move || {
        let db = opener.open()?;
        Doc::create_table(&db)?;
        let started = Instant::now();
        db.atomic(|tx| {
            Doc::insert(tx, &doc("inside"))?;
            let err = expect_err(Doc::insert(&db, &doc("inside")));
            assert!(
                matches!(&err, Error::Usage(m) if m.contains("`tx`")),
                "{err:?}"
            );
            let err = expect_err(Doc::count().get(&db));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(db.atomic(|_| Ok(())));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            Ok(())
        })?;
        assert!(started.elapsed() < Duration::from_secs(2), "no wait");
        // The handle works again once the transaction is over.
        Doc::insert(&db, &doc("after"))?;
        assert_eq!(titles(&db)?, ["inside", "after"]);
        let mut counts = Vec::new();
        Doc::select().order_by(Doc::id).for_each(&db, |d| {
            counts.push((d.title, Doc::count().get(&db)?));
            Ok(())
        })?;
        assert_eq!(counts, [("inside".into(), 2), ("after".into(), 2)]);
        Ok(())
    })
}

/// Four threads share one connection through an `Arc`, with plain inserts
/// and transactions: every row is there once. On a strategy with one
/// connection (`Persistent`), transactions from different threads take turns,
/// so a count inside one sees exactly its own insert added; with a
/// connection per call (`PerQuery`) or per checkout (`Pool`), PostgreSQL's
/// transactions run side by side (READ COMMITTED: another thread's commit
/// may show between two statements), SQLite's take turns (BEGIN IMMEDIATE).
fn serves_many_threads_through_an_arc<O: Opener>(s: &Shared<O>) -> TestResult {
    let db = Arc::new(s.open()?);
    Doc::create_table(&*db)?;
    let threads = 4;
    let per_thread = 25;
    let takes_turns = s.kind() == Kind::Sqlite || O::NAME == "pg_persistent";
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = Arc::clone(&db);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || -> doctable::Result<()> {
                barrier.wait();
                for i in 0..per_thread {
                    if i % 5 == 0 {
                        db.atomic(|tx| {
                            let before = Doc::count().get(tx)?;
                            Doc::insert(tx, &doc(&format!("{t}-{i}")))?;
                            let after = Doc::count().get(tx)?;
                            if takes_turns {
                                assert_eq!(after, before + 1);
                            } else {
                                assert!(after > before, "{before} -> {after}");
                            }
                            Ok(())
                        })?;
                    } else {
                        Doc::insert(&*db, &doc(&format!("{t}-{i}")))?;
                    }
                }
                Ok(())
            })
        })
        .collect();
    for handle in handles {
        match handle.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    assert_eq!(Doc::count().get(&*db)?, (threads * per_thread) as i64);
    let mut all = titles(&*db)?;
    all.sort();
    let mut expected: Vec<String> = (0..threads)
        .flat_map(|t| (0..per_thread).map(move |i| format!("{t}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(all, expected);
    Ok(())
}

/// The one connection of a `Persistent`, used again from inside its own
/// transaction (instead of the `tx`), is a `Usage` error at once, not a
/// deadlock, on both engines.
fn used_inside_its_own_transaction_is_an_error_not_a_deadlock<O: Opener>(
    s: &Shared<O>,
) -> TestResult {
    let opener = s.opener.clone();
    within(Duration::from_secs(20), move || {
        let db = opener.open()?;
        Doc::create_table(&db)?;
        db.atomic(|tx| {
            Doc::insert(tx, &doc("inside"))?;
            let err = expect_err(Doc::insert(&db, &doc("outer handle")));
            assert!(
                matches!(&err, Error::Usage(m) if m.contains("transaction") && m.contains("tx")),
                "{err:?}"
            );
            let err = expect_err(Doc::count().get(&db));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(db.atomic(|_| Ok(())));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(Doc::select().all(&&db));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(db.with_connection(|_| Ok(())));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            Ok(())
        })?;
        // The transaction still committed its own work, and the handle is free again.
        assert_eq!(titles(&db)?, ["inside"]);
        Doc::insert(&db, &doc("after"))?;

        // Passed on with `?`, the error rolls the transaction back.
        let result = db.atomic(|tx| {
            Doc::insert(tx, &doc("rolled back"))?;
            Doc::insert(&db, &doc("outer handle"))?;
            Ok(())
        });
        assert!(matches!(&result, Err(Error::Usage(_))), "{result:?}");
        assert_eq!(titles(&db)?, ["inside", "after"]);

        // The same through an Arc, from inside a transaction on it.
        let shared = Arc::new(db);
        shared.atomic(|_| {
            let err = expect_err(Doc::count().get(&shared));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            Ok(())
        })?;
        Ok(())
    })
}

/// A call from another thread waits for the transaction holding the one
/// connection, then runs: it does not fail.
fn other_threads_wait_for_a_transaction_instead_of_failing<O: Opener>(s: &Shared<O>) -> TestResult {
    let opener = s.opener.clone();
    within(Duration::from_secs(20), move || {
        let db = Arc::new(opener.open()?);
        Doc::create_table(&*db)?;
        let (started_send, started_recv) = mpsc::channel();
        let holder = {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                db.atomic(|tx| {
                    Doc::insert(tx, &doc("first"))?;
                    let _ = started_send.send(());
                    thread::sleep(Duration::from_millis(200));
                    Ok(())
                })
            })
        };
        started_recv.recv()?;
        let started = Instant::now();
        // Blocks until the other thread's transaction ends, then runs.
        Doc::insert(&*db, &doc("second"))?;
        assert!(
            started.elapsed() >= Duration::from_millis(100),
            "did not wait: {:?}",
            started.elapsed()
        );
        match holder.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        assert_eq!(titles(&*db)?, ["first", "second"]);
        Ok(())
    })
}

/// A thread panics inside a transaction on a shared connection: its writes
/// are rolled back, and the connection (the `Persistent`'s one, or the
/// pooled one it had) serves the other threads and later calls as before.
fn a_panic_in_one_threads_transaction_leaves_the_connection_usable<O: Opener>(
    s: &Shared<O>,
) -> TestResult {
    let db = Arc::new(s.open()?);
    Doc::create_table(&*db)?;
    Doc::insert(&*db, &doc("before"))?;
    let panicker = {
        let db = Arc::clone(&db);
        thread::spawn(move || {
            let _ = db.atomic(|tx| -> doctable::Result<()> {
                Doc::insert(tx, &doc("rolled back"))?;
                panic!("a panic inside a transaction (expected by this test)");
            });
        })
    };
    assert!(panicker.join().is_err(), "the thread panicked");
    // Other threads, and this one, go on with the same connection.
    let others: Vec<_> = (0..3)
        .map(|t| {
            let db = Arc::clone(&db);
            thread::spawn(move || -> doctable::Result<()> {
                db.atomic(|tx| Doc::insert(tx, &doc(&format!("after {t}"))).map(drop))
            })
        })
        .collect();
    for handle in others {
        match handle.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
    }
    Doc::insert(&*db, &doc("last"))?;
    let mut got = titles(&*db)?;
    got.sort();
    assert_eq!(got, ["after 0", "after 1", "after 2", "before", "last"]);
    Ok(())
}

#[test]
fn persistent_in_memory_and_paths() -> TestResult {
    let db = Persistent::open_in_memory()?;
    assert_eq!(db.path(), std::path::Path::new(":memory:"));
    Doc::create_table(&db)?;
    db.transaction(|tx| Doc::insert_many(tx, &[doc("a"), doc("b")]))?;
    assert_eq!(titles(&db)?, ["a", "b"]);
    // Two in-memory databases are separate.
    let other = Persistent::open(":memory:")?;
    Doc::create_table(&other)?;
    assert_eq!(Doc::count().get(&other)?, 0);
    let journal: String =
        db.with_rusqlite(|c| c.pragma_query_value(None, "journal_mode", |r| r.get(0)))??;
    assert_eq!(journal, "memory");
    Ok(())
}

// ---------------------------------------------------------------------------
// Options

#[test]
fn default_options_on_every_connection_the_crate_opens() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("defaults.db");
    let persistent = Persistent::open(&path)?;
    assert_eq!(persistent.with_rusqlite(pragmas)??, defaults());
    // Inside a transaction too.
    let inside = persistent.transaction(|tx| Ok(pragmas(tx.connection())))??;
    assert_eq!(inside, defaults());

    // PerQuery: each call's own connection.
    let per_query = PerQuery::open(&path)?;
    for _ in 0..2 {
        let seen = per_query.transaction(|tx| Ok(pragmas(tx.connection())))??;
        assert_eq!(seen, defaults());
    }
    let other = PerQuery::open(dir.path().join("per_query_first.db"))?;
    assert_eq!(
        other.transaction(|tx| Ok(pragmas(tx.connection())))??,
        defaults()
    );

    // WAL is stored in the file: a plain connection sees it.
    let raw = rusqlite::Connection::open(&path)?;
    let journal: String = raw.pragma_query_value(None, "journal_mode", |r| r.get(0))?;
    assert_eq!(journal, "wal");
    // Foreign keys are enforced on the crate's connections.
    persistent.with_rusqlite(|c| {
        c.execute_batch(
            "CREATE TABLE parent (id INTEGER PRIMARY KEY);
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id));",
        )
    })??;
    let refused =
        persistent.with_rusqlite(|c| c.execute("INSERT INTO child VALUES (1, 99)", []))?;
    assert!(
        matches!(&refused, Err(e) if e.to_string().contains("FOREIGN KEY")),
        "{refused:?}"
    );
    Ok(())
}

#[test]
fn options_builder_changes_every_setting() -> TestResult {
    let dir = tempfile::tempdir()?;
    let options = Options::new()
        .busy_timeout(Duration::from_millis(250))
        .wal(false)
        .foreign_keys(false)
        .synchronous(Synchronous::Full)
        .statement_cache_capacity(2);
    let expected = Pragmas {
        journal_mode: "delete".to_owned(),
        foreign_keys: 0,
        synchronous: 2,
        busy_timeout: 0,
    };
    let db = Persistent::open_with(dir.path().join("custom.db"), &options)?;
    assert_eq!(db.with_rusqlite(pragmas)??, expected);
    let per_query = PerQuery::open_with(dir.path().join("custom_per_query.db"), &options)?;
    assert_eq!(
        per_query.transaction(|tx| Ok(pragmas(tx.connection())))??,
        expected
    );

    let off = Options::new().synchronous(Synchronous::Off);
    let db_off = Persistent::open_with(dir.path().join("off.db"), &off)?;
    assert_eq!(db_off.with_rusqlite(pragmas)??.synchronous, 0);
    // The optional tuning knobs.
    let tuned = Options::new().wal_autocheckpoint(0).cache_size_kib(8192);
    let db_tuned = Persistent::open_with(dir.path().join("tuned.db"), &tuned)?;
    let (checkpoint, cache): (i64, i64) =
        db_tuned.with_rusqlite(|c| -> rusqlite::Result<_> {
            Ok((
                c.pragma_query_value(None, "wal_autocheckpoint", |r| r.get(0))?,
                c.pragma_query_value(None, "cache_size", |r| r.get(0))?,
            ))
        })??;
    assert_eq!((checkpoint, cache), (0, -8192));
    assert_eq!(db_tuned.with_rusqlite(pragmas)??, defaults());
    let per_query_tuned = PerQuery::open_with(dir.path().join("tuned.db"), &tuned)?;
    let cache: i64 = per_query_tuned.transaction(|tx| {
        Ok(tx
            .connection()
            .pragma_query_value(None, "cache_size", |r| r.get(0)))
    })??;
    assert_eq!(cache, -8192);

    let normal = Options::new().synchronous(Synchronous::Normal).wal(true);
    let db_normal = Persistent::open_with(dir.path().join("normal.db"), &normal)?;
    assert_eq!(db_normal.with_rusqlite(pragmas)??, defaults());

    // A tiny statement cache still gives the right answers.
    for conn_options in [
        Options::new().statement_cache_capacity(0),
        Options::new().statement_cache_capacity(1),
    ] {
        let file = tempfile::tempdir()?;
        let db = Persistent::open_with(file.path().join("cache.db"), &conn_options)?;
        Doc::create_table(&db)?;
        for i in 0..5 {
            Doc::insert(&db, &doc(&format!("t{i}")))?;
            assert_eq!(Doc::count().get(&db)?, i + 1);
            assert_eq!(
                Doc::get(&db, i + 1)?.map(|d| d.title),
                Some(format!("t{i}"))
            );
        }
        assert_eq!(Doc::insert_many(&db, &[doc("x"), doc("y")])?, 2);
        assert_eq!(titles(&db)?, ["t0", "t1", "t2", "t3", "t4", "x", "y"]);
    }
    Ok(())
}

#[test]
fn busy_timeout_bounds_the_wait_for_another_writer() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("locked.db");
    let options = Options::new().busy_timeout(Duration::from_millis(150));
    let db = Persistent::open_with(&path, &options)?;
    Doc::create_table(&db)?;
    // Another connection takes the write lock and keeps it.
    let other = rusqlite::Connection::open(&path)?;
    other.execute_batch("BEGIN IMMEDIATE")?;
    let started = Instant::now();
    let err = expect_err(Doc::insert(&db, &doc("blocked")));
    let waited = started.elapsed();
    assert!(
        matches!(&err, Error::Busy { table: Some(t), .. } if t == "docs"),
        "{err:?}"
    );
    assert!(
        err.to_string().contains("busy_timeout"),
        "says what to change: {err}"
    );
    assert!(
        waited >= Duration::from_millis(100),
        "gave up after {waited:?}"
    );
    assert!(waited < Duration::from_secs(4), "waited {waited:?}");
    // A transaction cannot begin either (BEGIN IMMEDIATE takes the lock up front).
    let err = expect_err(db.transaction(|tx| Doc::insert(tx, &doc("blocked"))));
    assert!(matches!(&err, Error::Busy { .. }), "{err:?}");
    other.execute_batch("COMMIT")?;
    // Once the lock is free, the same calls work.
    Doc::insert(&db, &doc("free"))?;
    assert_eq!(titles(&db)?, ["free"]);
    Ok(())
}

#[test]
fn a_writer_waits_for_another_process_lock_within_the_timeout() -> TestResult {
    within(Duration::from_secs(20), || {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("wait.db");
        let db = PerQuery::open(&path)?;
        Doc::create_table(&db)?;
        let other = rusqlite::Connection::open(&path)?;
        other
            .execute_batch("BEGIN IMMEDIATE; INSERT INTO docs (title, year) VALUES ('other', 1)")?;
        let releaser = thread::spawn(move || -> rusqlite::Result<()> {
            thread::sleep(Duration::from_millis(300));
            other.execute_batch("COMMIT")
        });
        let started = Instant::now();
        // Default 5 s timeout: waits for the commit instead of failing.
        db.transaction(|tx| Doc::insert(tx, &doc("mine")))?;
        assert!(started.elapsed() >= Duration::from_millis(200));
        match releaser.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        assert_eq!(titles(&db)?, ["other", "mine"]);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Strategies share one file

#[test]
fn every_strategy_sees_the_others_writes() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("shared.db");
    let persistent = Persistent::open(&path)?;
    let per_query = PerQuery::open(&path)?;
    let external = rusqlite::Connection::open(&path)?;
    Doc::create_table(&persistent)?;
    Doc::create_table(&per_query)?;
    Doc::create_table(&external)?;
    Doc::insert(&persistent, &doc("from persistent"))?;
    Doc::insert(&per_query, &doc("from per-query"))?;
    Doc::insert(&external, &doc("from external"))?;
    let mut tx_conn = rusqlite::Connection::open(&path)?;
    let tx = rusqlite::Connection::transaction(&mut tx_conn)?;
    Doc::insert(&tx, &doc("from a committed transaction"))?;
    tx.commit()?;
    let expected = [
        "from persistent",
        "from per-query",
        "from external",
        "from a committed transaction",
    ];
    assert_eq!(titles(&persistent)?, expected);
    assert_eq!(titles(&per_query)?, expected);
    assert_eq!(titles(&external)?, expected);
    assert_eq!(titles(&tx_conn)?, expected);
    Ok(())
}

/// PostgreSQL's strategies on one schema, and another program's own client:
/// each sees the others' committed writes.
#[cfg(feature = "postgres")]
#[test]
fn every_postgres_strategy_sees_the_others_writes() -> TestResult {
    use doctable::postgres;
    backends::with_pg_schema(|schema| {
        let persistent = postgres::Persistent::connect(&schema.params)?;
        let per_query = postgres::PerQuery::connect(&schema.params)?;
        let pool = postgres::Pool::connect(&schema.params, 2)?;
        Doc::create_table(&persistent)?;
        Doc::create_table(&per_query)?;
        Doc::create_table(&pool)?;
        Doc::insert(&persistent, &doc("from persistent"))?;
        Doc::insert(&per_query, &doc("from per-query"))?;
        Doc::insert(&pool, &doc("from the pool"))?;
        pool.transaction(|tx| Doc::insert(tx, &doc("from a committed transaction")))?;
        let mut other = schema.client();
        other.execute(
            "INSERT INTO docs (title, year) VALUES ($1, 2000)",
            &[&"from another program"],
        )?;
        let expected = [
            "from persistent",
            "from per-query",
            "from the pool",
            "from a committed transaction",
            "from another program",
        ];
        assert_eq!(titles(&persistent)?, expected);
        assert_eq!(titles(&per_query)?, expected);
        assert_eq!(titles(&pool)?, expected);
        let seen: Vec<String> = other
            .query("SELECT title FROM docs ORDER BY id", &[])?
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(seen, expected);
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// Opening what is not a database

#[test]
fn a_file_that_is_not_a_database_is_an_open_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("not_a.db");
    std::fs::write(
        &path,
        "this is a text file, not an SQLite database\n".repeat(200),
    )?;
    for err in [
        expect_err(Persistent::open(&path).map(|_| ())),
        expect_err(PerQuery::open(&path).map(|_| ())),
    ] {
        match &err {
            Error::Open { path: p, .. } => assert_eq!(p, &path),
            other => panic!("expected Error::Open, got {other:?}"),
        }
        assert!(err.to_string().contains("not_a.db"), "{err}");
    }
    // The file was not changed.
    assert!(std::fs::read_to_string(&path)?.starts_with("this is a text file"));

    let missing_dir = dir.path().join("no").join("such").join("dir.db");
    let err = expect_err(Persistent::open(&missing_dir).map(|_| ()));
    assert!(
        matches!(&err, Error::Open { path, .. } if path == &missing_dir),
        "{err:?}"
    );
    let err = expect_err(PerQuery::open(&missing_dir).map(|_| ()));
    assert!(matches!(&err, Error::Open { .. }), "{err:?}");
    Ok(())
}

#[test]
fn per_query_reports_a_database_that_went_away() -> TestResult {
    let dir = tempfile::tempdir()?;
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub)?;
    let db = PerQuery::open(sub.join("gone.db"))?;
    Doc::create_table(&db)?;
    std::fs::remove_dir_all(&sub)?;
    let err = expect_err(Doc::count().get(&db));
    assert!(matches!(&err, Error::Open { .. }), "{err:?}");
    Ok(())
}

#[test]
fn a_huge_busy_timeout_is_clamped_not_a_panic() -> Result<(), Box<dyn std::error::Error>> {
    drop(Persistent::open_with(
        ":memory:",
        &Options::new().busy_timeout(std::time::Duration::MAX),
    )?);
    // Clamped to SQLite's i32 milliseconds (about 24.8 days), and kept by the
    // crate's busy handler: a lock held elsewhere is waited for, not refused.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("huge.db");
    let db = Persistent::open_with(&path, &Options::new().busy_timeout(Duration::MAX))?;
    Doc::create_table(&db)?;
    let other = rusqlite::Connection::open(&path)?;
    other.execute_batch("BEGIN IMMEDIATE")?;
    let writer = std::thread::spawn(move || {
        Doc::insert(&db, &doc("waited"))
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!writer.is_finished(), "the writer waits for the lock");
    other.execute_batch("COMMIT")?;
    writer.join().expect("writer thread")?;
    Ok(())
}
