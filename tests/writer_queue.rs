//! The writer queue (`Options::writer_queue(true)`, doctable/src/sqlite/queue.rs):
//! the crate's writers take an exclusive `flock` on `<database>-writer`
//! around every write. Not timed: exact counts from several real processes,
//! a holder killed with SIGKILL freeing it, readers never taking it, the
//! busy timeout still ending every wait, and a side file that cannot be made.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use doctable::{DocTable, Error, Options, PerQuery, Persistent, Pool};

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Row {
    #[doctable(primary_key)]
    id: Option<i64>,
    writer: String,
    n: i64,
}

type TestResult = Result<(), Box<dyn std::error::Error>>;

const ROLE: &str = "DOCTABLE_WRITER_QUEUE_ROLE";
const DB: &str = "DOCTABLE_WRITER_QUEUE_DB";

fn row(writer: &str, n: i64) -> Row {
    Row {
        id: None,
        writer: writer.into(),
        n,
    }
}

fn side_file(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}-writer", db.display()))
}

/// This test binary running test `test` as a child with `role` on `db`.
fn child(test: &str, role: &str, db: &Path) -> std::io::Result<Command> {
    let mut cmd = Command::new(std::env::current_exe()?);
    cmd.args(["--exact", test, "--nocapture", "--test-threads=1"])
        .env(ROLE, role)
        .env(DB, db)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    Ok(cmd)
}

/// In a child process: its role and database.
fn role() -> Option<(String, PathBuf)> {
    Some((
        std::env::var(ROLE).ok()?,
        PathBuf::from(std::env::var_os(DB)?),
    ))
}

/// Whether some other open file description holds the lock on `side`.
fn locked_elsewhere(side: &Path) -> std::io::Result<bool> {
    let probe = File::open(side)?;
    match probe.try_lock() {
        Ok(()) => {
            probe.unlock()?;
            Ok(false)
        }
        Err(std::fs::TryLockError::WouldBlock) => Ok(true),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// The file a holder child writes once it holds the queue.
fn holding_marker(db: &Path) -> PathBuf {
    PathBuf::from(format!("{}.holding", db.display()))
}

/// Kills the child if the test ends early (a failed assertion).
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

const PER_WRITER: i64 = 300;

/// The options with the queue on (it is off by default).
fn queued() -> Options {
    Options::new().writer_queue(true)
}

#[test]
fn writers_in_several_processes_and_threads_all_succeed() -> TestResult {
    const TEST: &str = "writers_in_several_processes_and_threads_all_succeed";
    if let Some((role, db)) = role() {
        // Each child writes row by row through one strategy, and one uses
        // two threads on a Pool (threads queue on their own handles).
        match role.as_str() {
            "persistent" => {
                let conn = Persistent::open_with(&db, &queued())?;
                for n in 0..PER_WRITER {
                    Row::insert(&conn, &row(&role, n))?;
                }
            }
            "per_query" => {
                let conn = PerQuery::open_with(&db, &queued())?;
                for n in 0..PER_WRITER {
                    Row::insert(&conn, &row(&role, n))?;
                }
            }
            "pool" => {
                let pool = Pool::open_sized(&db, &queued(), 2)?;
                std::thread::scope(|s| {
                    let writers: Vec<_> = ["pool-a", "pool-b"]
                        .into_iter()
                        .map(|name| {
                            let pool = pool.clone();
                            s.spawn(move || -> doctable::Result<()> {
                                for n in 0..PER_WRITER / 2 {
                                    // Every other one a transaction of one row.
                                    if n % 2 == 0 {
                                        Row::insert(&pool, &row(name, n))?;
                                    } else {
                                        pool.transaction(|tx| {
                                            Row::insert(tx, &row(name, n)).map(|_| ())
                                        })?;
                                    }
                                }
                                Ok(())
                            })
                        })
                        .collect();
                    for w in writers {
                        w.join().map_err(|_| "writer panicked")??;
                    }
                    Ok::<(), Box<dyn std::error::Error>>(())
                })?;
            }
            other => return Err(format!("unknown role {other}").into()),
        }
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("writers.db");
    Row::create_table(&Persistent::open_with(&db, &queued())?)?;
    let roles = ["persistent", "persistent", "per_query", "pool"];
    let children = roles
        .iter()
        .map(|role| child(TEST, role, &db)?.spawn())
        .collect::<std::io::Result<Vec<_>>>()?;
    for c in children {
        let out = c.wait_with_output()?;
        assert!(out.status.success(), "a writer failed: {:?}", out.status);
    }
    let conn = Persistent::open_with(&db, &queued())?;
    assert_eq!(Row::count().get(&conn)?, PER_WRITER * roles.len() as i64);
    for writer in ["per_query", "pool-a", "pool-b"] {
        let expected = if writer == "per_query" {
            PER_WRITER
        } else {
            PER_WRITER / 2
        };
        let n = Row::count().filter(Row::writer.eq(writer)).get(&conn)?;
        assert_eq!(n, expected, "{writer}");
    }
    assert_eq!(
        Row::count()
            .filter(Row::writer.eq("persistent"))
            .get(&conn)?,
        2 * PER_WRITER
    );
    assert!(side_file(&db).is_file(), "the writers made the side file");
    Ok(())
}

#[test]
fn a_holder_killed_with_sigkill_frees_the_queue() -> TestResult {
    const TEST: &str = "a_holder_killed_with_sigkill_frees_the_queue";
    if let Some((_, db)) = role() {
        // Holds the queue (and SQLite's write lock) in a transaction, says
        // so, and waits to be killed.
        let conn = Persistent::open_with(&db, &queued())?;
        conn.transaction(|tx| {
            Row::insert(tx, &row("killed", 1))?;
            std::fs::write(holding_marker(&db), b"holding").map_err(doctable::Error::Io)?;
            // Killed long before this ends (a bound, should the parent die first).
            std::thread::sleep(Duration::from_secs(60));
            Ok(())
        })?;
        return Err("the holder was not killed".into());
    }
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("killed.db");
    let conn = Persistent::open_with(&db, &queued().busy_timeout(Duration::from_secs(10)))?;
    Row::create_table(&conn)?;
    let mut holder = KillOnDrop(child(TEST, "holder", &db)?.spawn()?);
    let started = Instant::now();
    while !holding_marker(&db).exists() {
        if let Some(status) = holder.0.try_wait()? {
            return Err(format!("the holder ended without holding: {status}").into());
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the holder never held"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(
        locked_elsewhere(&side_file(&db))?,
        "the child's transaction holds the queue"
    );
    // On Unix, `kill` is SIGKILL: no destructor, no unlock, no rollback.
    holder.0.kill()?;
    let status = holder.0.wait()?;
    assert!(!status.success());
    assert!(
        !locked_elsewhere(&side_file(&db))?,
        "the kernel released a dead process's lock"
    );
    let started = Instant::now();
    Row::insert(&conn, &row("after", 2))?;
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(5), "{waited:?}");
    assert_eq!(
        Row::count().get(&conn)?,
        1,
        "the killed transaction left nothing"
    );
    assert_eq!(Row::count().filter(Row::writer.eq("after")).get(&conn)?, 1);
    Ok(())
}

#[test]
fn readers_never_take_the_queue() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("readers.db");
    let conn = Persistent::open_with(&db, &queued())?;
    Row::create_table(&conn)?;
    Row::insert(&conn, &row("w", 1))?;
    let pool = Pool::open_sized(&db, &queued(), 2)?;
    let per_query = PerQuery::open_with(&db, &queued())?;
    // The test itself holds the queue, as a writer of another process would.
    let side = File::open(side_file(&db))?;
    side.lock()?;
    let started = Instant::now();
    for _ in 0..20 {
        assert_eq!(Row::count().get(&conn)?, 1);
        assert_eq!(Row::get(&pool, 1)?.map(|r| r.n), Some(1));
        assert_eq!(Row::select().all(&per_query)?.len(), 1);
    }
    // 60 reads, each of which would wait the whole 5 s busy timeout if it
    // waited for the queue.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(4), "{took:?}");
    side.unlock()?;
    Ok(())
}

#[test]
fn a_wait_for_the_queue_ends_at_the_busy_timeout() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("timeout.db");
    let short = queued().busy_timeout(Duration::from_millis(300));
    let holder = Persistent::open_with(&db, &queued())?;
    Row::create_table(&holder)?;
    let writer = Persistent::open_with(&db, &short)?;

    // 1. Another of the crate's connections holds the queue and SQLite's
    //    lock (a transaction on another thread): the wait, in the queue,
    //    ends with Error::Busy after about the timeout.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    std::thread::scope(|s| -> TestResult {
        let holder = &holder;
        let holding = s.spawn(move || {
            holder.transaction(|tx| {
                Row::insert(tx, &row("holder", 1))?;
                let _ = held_tx.send(());
                let _ = done_rx.recv_timeout(Duration::from_secs(20));
                Ok(())
            })
        });
        held_rx.recv_timeout(Duration::from_secs(10))?;
        assert!(locked_elsewhere(&side_file(&db))?);
        let started = Instant::now();
        let err = Row::insert(&writer, &row("writer", 2)).unwrap_err();
        let waited = started.elapsed();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert!(waited >= Duration::from_millis(290), "{waited:?}");
        assert!(waited < Duration::from_secs(3), "{waited:?}");
        // A second try waits again, no longer (its earlier place is kept).
        let started = Instant::now();
        let err = Row::insert(&writer, &row("writer", 3)).unwrap_err();
        assert!(matches!(err, Error::Busy { .. }), "{err:?}");
        assert!(started.elapsed() < Duration::from_secs(3));
        let _ = done_tx.send(());
        holding.join().map_err(|_| "holder panicked")??;
        Ok(())
    })?;
    // The abandoned wait left nothing held: the next write goes through at once.
    let started = Instant::now();
    Row::insert(&writer, &row("writer", 4))?;
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(!locked_elsewhere(&side_file(&db))?);

    // 2. A connection that is not the crate's (plain rusqlite) holds
    //    SQLite's write lock: the queue is free, and the busy handler ends
    //    the wait with Error::Busy, as without a queue.
    let plain = doctable::rusqlite::Connection::open(&db)?;
    plain.execute_batch("BEGIN IMMEDIATE")?;
    let started = Instant::now();
    let err = Row::insert(&writer, &row("writer", 5)).unwrap_err();
    let waited = started.elapsed();
    assert!(matches!(err, Error::Busy { .. }), "{err:?}");
    assert!(waited >= Duration::from_millis(290), "{waited:?}");
    assert!(waited < Duration::from_secs(3), "{waited:?}");
    assert!(
        !locked_elsewhere(&side_file(&db))?,
        "released after the failure"
    );
    plain.execute_batch("ROLLBACK")?;

    // 3. Only the queue is held (by a process that is not writing): after
    //    the timeout the write still goes to SQLite, whose lock is free.
    let side = File::open(side_file(&db))?;
    side.lock()?;
    let started = Instant::now();
    Row::insert(&writer, &row("writer", 6))?;
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(290), "{waited:?}");
    side.unlock()?;
    assert_eq!(Row::count().get(&writer)?, 3);
    Ok(())
}

#[test]
fn a_side_file_that_cannot_be_made_leaves_writes_working() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("nowhere.db");
    // The side file's name is a dangling link into a folder that does not
    // exist: it can be neither created nor opened.
    std::os::unix::fs::symlink(dir.path().join("missing/writer"), side_file(&db))?;
    let conn = Persistent::open_with(&db, &queued())?;
    Row::create_table(&conn)?;
    for n in 0..10 {
        Row::insert(&conn, &row("w", n))?;
    }
    conn.transaction(|tx| Row::insert(tx, &row("tx", 10)).map(|_| ()))?;
    Row::insert(&PerQuery::open_with(&db, &queued())?, &row("per_query", 11))?;
    Row::insert(&Pool::open_with(&db, &queued())?, &row("pool", 12))?;
    assert_eq!(Row::count().get(&conn)?, 13);
    assert!(!dir.path().join("missing").exists());
    Ok(())
}

#[test]
fn the_queue_is_off_by_default() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("default.db");
    let conn = Persistent::open(&db)?;
    Row::create_table(&conn)?;
    Row::insert(&conn, &row("w", 1))?;
    conn.transaction(|tx| Row::insert(tx, &row("w", 2)).map(|_| ()))?;
    assert!(!side_file(&db).exists());
    assert_eq!(Row::count().get(&conn)?, 2);
    Ok(())
}

#[test]
fn a_database_in_a_read_only_directory_still_works() -> TestResult {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir()?;
    let folder = dir.path().join("ro");
    std::fs::create_dir(&folder)?;
    let db = folder.join("docs.db");
    // Kept open, so that the -wal and -shm files stay (SQLite could not
    // make them in the read-only folder); no queue (the default), so no
    // side file yet.
    let first = Persistent::open(&db)?;
    Row::create_table(&first)?;
    Row::insert(&first, &row("before", 1))?;
    assert!(!side_file(&db).exists());
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555))?;
    // Reading through a read-only connection never makes the side file
    // (as root the folder's mode stops nothing, so this is what is checked).
    let reader = Persistent::open_with(&db, &queued().read_only(true))?;
    assert_eq!(Row::count().get(&reader)?, 1);
    assert!(
        !side_file(&db).exists(),
        "a read-only connection made the side file"
    );
    // A writer with the queue on: as an ordinary user it cannot make the
    // side file and writes without it; as root it makes it. Either way the
    // writes go through, in autocommit and in a transaction.
    let writer = Persistent::open_with(&db, &queued())?;
    let result = (|| -> doctable::Result<i64> {
        Row::insert(&writer, &row("after", 2))?;
        writer.transaction(|tx| Row::insert(tx, &row("after", 3)))?;
        Row::count().get(&writer)
    })();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o755))?;
    assert_eq!(result?, 3);
    drop(first);
    Ok(())
}
