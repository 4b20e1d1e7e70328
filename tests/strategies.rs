//! What is particular to each connection strategy: `Persistent` (shared
//! between threads, refuses re-entrant use instead of deadlocking),
//! `PerQuery` (refuses in-memory databases, opens per call), the options every
//! connection the crate opens gets, and opening files that are not databases.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use doctable::rusqlite;
use doctable::{Conn, DocTable, Error, Options, PerQuery, Persistent, Synchronous};

type TestResult = Result<(), Box<dyn std::error::Error>>;

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

#[test]
fn per_query_opens_a_fresh_connection_for_every_call() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("per_query.db");
    let db = PerQuery::open(&path)?;
    assert_eq!(db.path(), path);
    // A TEMP table lives only as long as its connection.
    db.transaction(|tx| {
        tx.connection()
            .execute_batch("CREATE TEMP TABLE scratch (x)")
            .map_err(|e| Error::Usage(e.to_string()))
    })?;
    let temp_tables: i64 = db.transaction(|tx| {
        tx.connection()
            .query_row("SELECT count(*) FROM sqlite_temp_master", [], |r| r.get(0))
            .map_err(|e| Error::Usage(e.to_string()))
    })?;
    assert_eq!(temp_tables, 0, "the next call had a new connection");

    // The same with Persistent keeps its one connection.
    let kept = Persistent::open(dir.path().join("persistent.db"))?;
    kept.with_rusqlite(|c| c.execute_batch("CREATE TEMP TABLE scratch (x)"))??;
    let temp_tables: i64 = kept.with_rusqlite(|c| {
        c.query_row("SELECT count(*) FROM sqlite_temp_master", [], |r| r.get(0))
    })??;
    assert_eq!(temp_tables, 1);
    Ok(())
}

#[test]
fn per_query_inside_its_own_transaction_is_refused_at_once() -> TestResult {
    // PerQuery's outer handle would open another connection and wait for the
    // transaction's write lock until the busy timeout (5 s here): it is refused
    // at once instead, with a message that says to use the `tx`.
    let dir = tempfile::tempdir()?;
    let db = PerQuery::open(dir.path().join("busy.db"))?;
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
};

#[test]
fn persistent_serves_many_threads_through_an_arc() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Arc::new(Persistent::open(dir.path().join("threads.db"))?);
    Doc::create_table(&db)?;
    let threads = 4;
    let per_thread = 25;
    let barrier = Arc::new(Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let db = Arc::clone(&db);
            let barrier = Arc::clone(&barrier);
            thread::spawn(move || -> doctable::Result<()> {
                barrier.wait();
                for i in 0..per_thread {
                    if i % 5 == 0 {
                        // Transactions from different threads take turns too.
                        db.transaction(|tx| {
                            let before = Doc::count().get(tx)?;
                            Doc::insert(tx, &doc(&format!("{t}-{i}")))?;
                            assert_eq!(Doc::count().get(tx)?, before + 1);
                            Ok(())
                        })?;
                    } else {
                        Doc::insert(&db, &doc(&format!("{t}-{i}")))?;
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
    assert_eq!(Doc::count().get(&db)?, (threads * per_thread) as i64);
    let mut all = titles(&db)?;
    all.sort();
    let mut expected: Vec<String> = (0..threads)
        .flat_map(|t| (0..per_thread).map(move |i| format!("{t}-{i}")))
        .collect();
    expected.sort();
    assert_eq!(all, expected);
    Ok(())
}

#[test]
fn persistent_used_inside_its_own_transaction_is_an_error_not_a_deadlock() -> TestResult {
    within(Duration::from_secs(20), || {
        let dir = tempfile::tempdir()?;
        let db = Persistent::open(dir.path().join("reentrant.db"))?;
        Doc::create_table(&db)?;
        db.transaction(|tx| {
            Doc::insert(tx, &doc("inside"))?;
            let err = expect_err(Doc::insert(&db, &doc("outer handle")));
            assert!(
                matches!(&err, Error::Usage(m) if m.contains("transaction") && m.contains("tx")),
                "{err:?}"
            );
            let err = expect_err(Doc::count().get(&db));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(db.transaction(|_| Ok(())));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(Doc::select().all(&&db));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err(db.with_rusqlite(|_| ()));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            Ok(())
        })?;
        // The transaction still committed its own work, and the handle is free again.
        assert_eq!(titles(&db)?, ["inside"]);
        Doc::insert(&db, &doc("after"))?;

        // Passed on with `?`, the error rolls the transaction back.
        let result = db.transaction(|tx| {
            Doc::insert(tx, &doc("rolled back"))?;
            Doc::insert(&db, &doc("outer handle"))?;
            Ok(())
        });
        assert!(matches!(&result, Err(Error::Usage(_))), "{result:?}");
        assert_eq!(titles(&db)?, ["inside", "after"]);

        // The same through an Arc, from inside a transaction on it.
        let shared = Arc::new(db);
        shared.transaction(|_| {
            let err = expect_err(Doc::count().get(&shared));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            Ok(())
        })?;
        Ok(())
    })
}

#[test]
fn other_threads_wait_for_a_transaction_instead_of_failing() -> TestResult {
    within(Duration::from_secs(20), || {
        let dir = tempfile::tempdir()?;
        let db = Arc::new(Persistent::open(dir.path().join("wait.db"))?);
        Doc::create_table(&db)?;
        let (started_send, started_recv) = mpsc::channel();
        let holder = {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                db.transaction(|tx| {
                    Doc::insert(tx, &doc("first"))?;
                    let _ = started_send.send(());
                    thread::sleep(Duration::from_millis(200));
                    Ok(())
                })
            })
        };
        started_recv.recv()?;
        // Blocks until the other thread's transaction ends, then runs.
        Doc::insert(&*db, &doc("second"))?;
        match holder.join() {
            Ok(result) => result?,
            Err(panic) => std::panic::resume_unwind(panic),
        }
        assert_eq!(titles(&*db)?, ["first", "second"]);
        Ok(())
    })
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
