//! Issue 9, transactions and connections: each test reproduces one finding
//! of the adversarial review and pins the guarantee that closes it.
//!
//! - a transaction SQLite rolled back by itself (full disk, interrupt) or that
//!   was ended on the raw connection runs nothing more and autocommits nothing;
//! - a raw `BEGIN` left open through `with_rusqlite` is rolled back, and no
//!   later write joins a transaction the crate did not open;
//! - waiting for a `Persistent`'s connection is bounded: a callback that hands
//!   work to another thread gets an error, not a deadlock;
//! - `for_each` / `chunks` refuse re-entrant use of the connection they scan,
//!   through a `Tx` and an external connection as through a `Persistent`;
//! - a connection used after `fork()` in the child fails with a clear error,
//!   and the parent's data stays whole;
//! - SQLITE_LOCKED is its own error, and a second connection's write inside a
//!   transaction of the same thread fails at once instead of waiting.

mod reliability_support;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use doctable::rusqlite;
use doctable::{Conn, DocTable, Error, Options, PerQuery, Persistent};
use reliability_support::{TestResult, child_command, integrity_check};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "accounts")]
struct Account {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    balance: i64,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "blobs")]
struct Blob {
    #[doctable(primary_key)]
    id: Option<i64>,
    data: Vec<u8>,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "ranked")]
struct Ranked {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(index)]
    rank: i64,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "counters")]
struct Counter {
    #[doctable(primary_key)]
    id: Option<i64>,
    n: i64,
}

fn account(name: &str, balance: i64) -> Account {
    Account {
        id: None,
        name: name.to_owned(),
        balance,
    }
}

fn expect_err<T: std::fmt::Debug>(what: &str, result: doctable::Result<T>) -> Error {
    match result {
        Ok(value) => panic!("{what}: expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

/// The balances as another connection sees them, by id.
fn balances_from_outside(path: &Path) -> rusqlite::Result<Vec<i64>> {
    let other = rusqlite::Connection::open(path)?;
    let mut stmt = other.prepare("SELECT balance FROM accounts ORDER BY id")?;
    let rows = stmt.query_map([], |r| r.get(0))?;
    rows.collect()
}

fn count_from_outside(path: &Path, table: &str) -> rusqlite::Result<i64> {
    let other = rusqlite::Connection::open(path)?;
    other.query_row(&format!("SELECT count(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
}

/// Two accounts, 100 and 0, committed.
fn two_accounts(db: &impl Conn) -> doctable::Result<()> {
    Account::create_table(db)?;
    Account::insert_many(db, &[account("a", 100), account("b", 0)])?;
    Ok(())
}

/// Moves 50 from account 1 to account 2 in two statements.
fn debit(tx: &impl Conn) -> doctable::Result<usize> {
    Account::update()
        .set(Account::balance, Account::balance - 50)
        .filter(Account::id.eq(1))
        .run(tx)
}

fn credit(tx: &impl Conn) -> doctable::Result<usize> {
    Account::update()
        .set(Account::balance, Account::balance + 50)
        .filter(Account::id.eq(2))
        .run(tx)
}

// ---------------------------------------------------------------------------
// 1. A transaction SQLite rolled back by itself

/// A small tmpfs, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` on a new temp dir, or says why it cannot.
    fn mount(size: &str) -> Result<Tmpfs, String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let out = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output()
            .map_err(|e| format!("cannot run mount: {e}"))?;
        if !out.status.success() {
            return Err(format!(
                "mount -t tmpfs failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ));
        }
        Ok(Tmpfs { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount")
            .arg(self.dir.path())
            .status();
    }
}

#[test]
fn a_transaction_rolled_back_by_a_full_disk_autocommits_nothing() -> TestResult {
    let fs = match Tmpfs::mount("2m") {
        Ok(fs) => fs,
        Err(reason) => {
            println!("skipped: needs a 2 MiB tmpfs (run as root): {reason}");
            return Ok(());
        }
    };
    let path = fs.path().join("full.db");
    let db = Persistent::open(&path)?;
    two_accounts(&db)?;
    Blob::create_table(&db)?;

    let mut filled = None;
    let mut second = None;
    let result = db.transaction(|tx| {
        debit(tx)?;
        // A nested transaction fills the disk; savepoints invite carrying on.
        filled = Some(tx.transaction(|t| {
            for _ in 0..64 {
                Blob::insert(
                    t,
                    &Blob {
                        id: None,
                        data: vec![0xAB; 256 * 1024],
                    },
                )?;
            }
            Ok(())
        }));
        second = Some(credit(tx));
        Ok(())
    });

    let filled = expect_err("filling the disk", filled.ok_or("closure did not run")?);
    assert!(
        matches!(&filled, Error::TransactionRolledBack { .. }),
        "the nested transaction says the whole transaction is gone: {filled:?}"
    );
    assert!(filled.to_string().contains("full"), "{filled}");
    let second = expect_err("the write after it", second.ok_or("closure did not run")?);
    assert!(
        matches!(&second, Error::TransactionRolledBack { .. }),
        "{second:?}"
    );
    let err = expect_err("the transaction", result);
    assert!(
        matches!(&err, Error::TransactionRolledBack { .. }),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("rolled") && text.contains("full"),
        "says it was rolled back and why: {text}"
    );
    // Nothing of it, neither half of the transfer, is in the file.
    assert_eq!(balances_from_outside(&path)?, [100, 0]);
    assert_eq!(count_from_outside(&path, "blobs")?, 0);
    // The connection is usable again, and new transactions work.
    assert_eq!(Account::count().get(&db)?, 2);
    db.transaction(|tx| {
        debit(tx)?;
        credit(tx)
    })?;
    assert_eq!(balances_from_outside(&path)?, [50, 50]);
    Ok(())
}

#[test]
fn a_transaction_rolled_back_by_an_interrupt_autocommits_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("interrupt.db");
    let db = Persistent::open(&path)?;
    two_accounts(&db)?;
    Counter::create_table(&db)?;
    let rows: Vec<Counter> = (0..200_000).map(|n| Counter { id: None, n }).collect();
    Counter::insert_many(&db, &rows)?;
    let handle = db.with_rusqlite(|c| c.get_interrupt_handle())?;

    // Interrupts every millisecond while `armed`. Only a running statement
    // is interrupted (SQLite clears a pending interrupt when a statement
    // starts on an idle connection), so it is armed just before the long
    // update; after the update the main thread waits until the interrupter
    // has seen it disarmed, so no interrupt lands on a later statement.
    let armed = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let rounds = Arc::new(AtomicUsize::new(0));
    let interrupter = {
        let (armed, done, rounds) = (Arc::clone(&armed), Arc::clone(&done), Arc::clone(&rounds));
        thread::spawn(move || {
            while !done.load(Ordering::SeqCst) {
                if armed.load(Ordering::SeqCst) {
                    handle.interrupt();
                }
                rounds.fetch_add(1, Ordering::SeqCst);
                thread::sleep(Duration::from_millis(1));
            }
        })
    };
    let disarm = || {
        armed.store(false, Ordering::SeqCst);
        let seen = rounds.load(Ordering::SeqCst);
        while rounds.load(Ordering::SeqCst) < seen + 2 {
            thread::sleep(Duration::from_millis(1));
        }
    };

    // An attempt in which the interrupter was not scheduled in time (the
    // update finished) proves nothing: it is rolled back and tried again.
    let mut attempts = 0;
    let (interrupted, second, nested_after, result) = loop {
        attempts += 1;
        let mut interrupted = None;
        let mut second = None;
        let mut nested_after = None;
        let result = db.transaction(|tx| {
            debit(tx)?;
            let r = tx.transaction(|t| {
                armed.store(true, Ordering::SeqCst);
                let r = Counter::update()
                    .set(Counter::n, Counter::n + 1)
                    .all_rows()
                    .run(t);
                disarm();
                r
            });
            if r.is_ok() {
                return Err(Error::Usage("not interrupted".into()));
            }
            interrupted = Some(r);
            second = Some(credit(tx));
            nested_after = Some(tx.transaction(|t| credit(t)));
            Ok(())
        });
        if interrupted.is_some() || attempts == 20 {
            break (interrupted, second, nested_after, result);
        }
    };
    done.store(true, Ordering::SeqCst);
    let _ = interrupter.join();

    let interrupted = expect_err(
        "the interrupted update",
        interrupted.ok_or("the update was never interrupted in 20 attempts")?,
    );
    assert!(
        matches!(&interrupted, Error::TransactionRolledBack { .. }),
        "{interrupted:?}"
    );
    assert!(
        interrupted.to_string().contains("interrupt"),
        "{interrupted}"
    );
    let second = expect_err("a write after it", second.ok_or("no run")?);
    assert!(
        second.to_string().contains("interrupt"),
        "later errors give the first error as the reason: {second}"
    );
    expect_err("a savepoint after it", nested_after.ok_or("no run")?);
    let err = expect_err("the transaction", result);
    assert!(
        matches!(&err, Error::TransactionRolledBack { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("interrupt"), "{err}");
    // Neither half of the transfer, and no counter moved.
    assert_eq!(balances_from_outside(&path)?, [100, 0]);
    let other = rusqlite::Connection::open(&path)?;
    let moved: i64 =
        other.query_row("SELECT count(*) FROM counters WHERE n != id - 1", [], |r| {
            r.get(0)
        })?;
    assert_eq!(moved, 0);
    Ok(())
}

#[test]
fn a_transaction_ended_on_the_raw_connection_runs_nothing_more() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raw_end.db");
    let db = Persistent::open(&path)?;
    two_accounts(&db)?;
    let mut after = None;
    let result = db.transaction(|tx| {
        debit(tx)?;
        tx.connection()
            .execute_batch("ROLLBACK")
            .map_err(|e| Error::Usage(e.to_string()))?;
        after = Some(credit(tx));
        Ok(())
    });
    let after = expect_err("a write after the raw ROLLBACK", after.ok_or("no run")?);
    assert!(
        matches!(&after, Error::TransactionRolledBack { .. }),
        "{after:?}"
    );
    let err = expect_err("the transaction", result);
    assert!(
        matches!(&err, Error::TransactionRolledBack { .. }),
        "{err:?}"
    );
    assert_eq!(balances_from_outside(&path)?, [100, 0]);

    // The same through an external connection's transaction.
    let conn = rusqlite::Connection::open(&path)?;
    let result = conn.atomic(|tx| {
        credit(tx)?;
        tx.connection()
            .execute_batch("ROLLBACK")
            .map_err(|e| Error::Usage(e.to_string()))?;
        credit(tx)
    });
    let err = expect_err("external transaction", result);
    assert!(
        matches!(&err, Error::TransactionRolledBack { .. }),
        "{err:?}"
    );
    assert_eq!(balances_from_outside(&path)?, [100, 0]);
    Ok(())
}

// ---------------------------------------------------------------------------
// 2. A raw BEGIN left open

#[test]
fn with_rusqlite_leaving_a_transaction_open_is_rolled_back_and_an_error() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raw_begin.db");
    let db = Persistent::open(&path)?;
    two_accounts(&db)?;
    // Stops at the duplicate key with BEGIN still open.
    let raw = db.with_rusqlite(|c| {
        c.execute_batch(
            "BEGIN; INSERT INTO accounts (id, name, balance) VALUES (1, 'dup', 0); COMMIT",
        )
    });
    let err = expect_err("the raw closure", raw);
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("rolled back") && m.contains("with_rusqlite")),
        "{err:?}"
    );
    assert!(db.with_rusqlite(|c| c.is_autocommit())?);

    // What the crate then reports as done is done, for everyone.
    assert_eq!(
        db.transaction(|tx| {
            Account::insert(tx, &account("c", 1))?;
            Account::insert(tx, &account("d", 2))
        })?,
        4
    );
    assert_eq!(Account::insert_many(&db, &[account("e", 3)])?, 1);
    assert_eq!(Account::insert(&db, &account("f", 4))?, 6);
    assert_eq!(count_from_outside(&path, "accounts")?, 6);
    drop(db);
    let reopened = Persistent::open(&path)?;
    assert_eq!(Account::count().get(&reopened)?, 6);
    Ok(())
}

#[test]
fn with_rusqlite_panicking_inside_begin_leaves_no_transaction_open() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("raw_panic.db");
    let db = Persistent::open(&path)?;
    two_accounts(&db)?;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _ = db.with_rusqlite(|c| {
            let _ = c.execute_batch("BEGIN; UPDATE accounts SET balance = 0");
            panic!("raw closure panics with BEGIN open");
        });
    }));
    assert!(panicked.is_err());
    assert!(db.with_rusqlite(|c| c.is_autocommit())?);
    db.transaction(|tx| debit(tx))?;
    assert_eq!(balances_from_outside(&path)?, [50, 0]);
    Ok(())
}

#[test]
fn an_external_callers_transaction_is_nested_and_a_per_query_one_commits() -> TestResult {
    // An external connection in a transaction the caller opened: the crate
    // nests a savepoint (that transaction is the caller's, documented).
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("nest.db");
    let conn = rusqlite::Connection::open(&path)?;
    two_accounts(&conn)?;
    conn.execute_batch("BEGIN")?;
    conn.atomic(|tx| debit(tx))?;
    assert!(
        !conn.is_autocommit(),
        "the caller's transaction is still open"
    );
    conn.execute_batch("ROLLBACK")?;
    assert_eq!(balances_from_outside(&path)?, [100, 0]);
    // A PerQuery transaction always starts on its own fresh connection, and
    // commits: another connection sees it.
    let pq = PerQuery::open(&path)?;
    pq.transaction(|tx| debit(tx))?;
    assert_eq!(balances_from_outside(&path)?, [50, 0]);
    Ok(())
}

// ---------------------------------------------------------------------------
// 9. Deadlock across threads

#[test]
fn a_callback_handing_work_to_another_thread_gets_an_error_not_a_deadlock() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("handoff.db");
    let options = Options::new().busy_timeout(Duration::from_millis(300));
    let db = Arc::new(Persistent::open_with(&path, &options)?);
    two_accounts(&*db)?;

    // From a transaction's callback.
    let mut outcome = None;
    let started = Instant::now();
    db.transaction(|tx| {
        debit(tx)?;
        let (send, recv) = mpsc::channel();
        let worker = {
            let db = Arc::clone(&db);
            thread::spawn(move || {
                let _ = send.send(Account::insert(&*db, &account("worker", 1)));
            })
        };
        outcome = Some(recv.recv_timeout(Duration::from_secs(5)));
        // Without an answer the worker is still blocked; it gets the
        // connection when this transaction ends, and is joined below.
        drop(worker);
        Ok(())
    })?;
    let answer = outcome
        .ok_or("no run")?
        .map_err(|_| "deadlock: the worker was still waiting after 5 s")?;
    let err = expect_err("the worker's insert", answer);
    assert!(matches!(&err, Error::ConnectionHeld { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("held") && text.contains("another thread"),
        "says the connection is held by a call still running: {text}"
    );
    assert!(started.elapsed() < Duration::from_secs(4));
    assert_eq!(balances_from_outside(&path)?, [50, 0]);

    // From a for_each callback.
    let mut outcome = None;
    Account::select().for_each(&*db, |_| {
        if outcome.is_none() {
            let (send, recv) = mpsc::channel();
            let db = Arc::clone(&db);
            thread::spawn(move || {
                let _ = send.send(Account::count().get(&*db));
            });
            outcome = Some(recv.recv_timeout(Duration::from_secs(5)));
        }
        Ok(())
    })?;
    let answer = outcome
        .ok_or("no run")?
        .map_err(|_| "deadlock: the for_each worker was still waiting after 5 s")?;
    let err = expect_err("the worker's count", answer);
    assert!(matches!(&err, Error::ConnectionHeld { .. }), "{err:?}");
    // And the handle works for everyone afterwards.
    assert_eq!(Account::count().get(&*db)?, 2);
    Ok(())
}

// ---------------------------------------------------------------------------
// 10. Writes during a scan

fn five_ranked(db: &impl Conn) -> doctable::Result<()> {
    Ranked::create_table(db)?;
    let rows: Vec<Ranked> = (10..15).map(|rank| Ranked { id: None, rank }).collect();
    Ranked::insert_many(db, &rows)?;
    Ok(())
}

fn ranks(db: &impl Conn) -> doctable::Result<Vec<i64>> {
    Ranked::select_cols(Ranked::rank)
        .order_by(Ranked::id)
        .all(db)
}

/// The reproduction: a scan along the index on `rank` bumps `rank` of each
/// row it visits, which moves the row ahead of the scan.
fn bump_while_scanning(tx: &impl Conn, visits: &mut usize) -> doctable::Result<()> {
    Ranked::select()
        .filter(Ranked::rank.lt(100))
        .order_by(Ranked::rank)
        .for_each(tx, |row| {
            *visits += 1;
            if *visits > 1_000 {
                return Err(Error::Usage("runaway scan".into()));
            }
            Ranked::update()
                .set(Ranked::rank, Ranked::rank + 10)
                .filter(Ranked::id.eq(row.id))
                .run(tx)?;
            Ok(())
        })
}

#[test]
fn for_each_over_a_tx_refuses_writes_through_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scan.db");
    let db = Persistent::open(&path)?;
    five_ranked(&db)?;
    let mut visits = 0;
    let result = db.transaction(|tx| bump_while_scanning(tx, &mut visits));
    let err = expect_err("writing during the scan", result);
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("for_each") && m.contains("ranked")),
        "{err:?}"
    );
    assert_eq!(visits, 1, "refused at the first write");
    assert_eq!(ranks(&db)?, [10, 11, 12, 13, 14]);

    // Reads and savepoints through the scanned Tx are refused too (the rule
    // a Persistent follows), and so is chunks' callback.
    db.transaction(|tx| {
        Ranked::select().for_each(tx, |_| {
            let err = expect_err("count in the scan", Ranked::count().get(tx));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            let err = expect_err("savepoint in the scan", tx.transaction(|_| Ok(())));
            assert!(matches!(&err, Error::Usage(_)), "{err:?}");
            Ok(())
        })?;
        let err = expect_err(
            "chunks",
            Ranked::select().chunks(tx, 2, |batch| {
                for row in batch {
                    Ranked::update_row(tx, &Ranked { rank: 0, ..row })?;
                }
                Ok(())
            }),
        );
        assert!(matches!(&err, Error::Usage(_)), "{err:?}");
        // After the scan the Tx works again.
        Ranked::count().get(tx)
    })?;
    assert_eq!(ranks(&db)?, [10, 11, 12, 13, 14]);
    Ok(())
}

#[test]
fn for_each_over_an_external_connection_refuses_writes_through_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scan_ext.db");
    let mut conn = rusqlite::Connection::open(&path)?;
    five_ranked(&conn)?;
    let mut visits = 0;
    let err = expect_err("external", bump_while_scanning(&conn, &mut visits));
    assert!(matches!(&err, Error::Usage(_)), "{err:?}");
    assert_eq!(ranks(&conn)?, [10, 11, 12, 13, 14]);

    // A rusqlite::Transaction, scanned and written through itself.
    let tx = conn.transaction()?;
    let mut visits = 0;
    let err = expect_err(
        "rusqlite transaction",
        bump_while_scanning(&tx, &mut visits),
    );
    assert!(matches!(&err, Error::Usage(_)), "{err:?}");
    tx.commit()?;
    assert_eq!(ranks(&conn)?, [10, 11, 12, 13, 14]);

    // A scan of one connection may write through another.
    let other = rusqlite::Connection::open(dir.path().join("other.db"))?;
    Ranked::create_table(&other)?;
    Ranked::select().for_each(&conn, |row| {
        Ranked::insert(&other, &Ranked { id: None, ..row })?;
        Ok(())
    })?;
    assert_eq!(ranks(&other)?, [10, 11, 12, 13, 14]);
    Ok(())
}

// ---------------------------------------------------------------------------
// 12. fork()

const FORK_CHILD: &str = "DOCTABLE_TXN_FORK_CHILD";
/// Set (to anything) when the fork scenario opens its database with
/// `Options::detect_file_moves(true)`.
const FORK_DETECT_MOVES: &str = "DOCTABLE_TXN_FORK_DETECT_MOVES";

/// Runs the fork scenario in a child process of its own (one thread, so the
/// fork copies no lock another test thread holds), and checks its report.
#[cfg(unix)]
#[test]
fn a_fork_inside_a_transaction_fails_in_the_child_and_the_parent_commits() -> TestResult {
    if std::env::var_os(FORK_CHILD).is_some() {
        return fork_scenario();
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fork.db");
    let out = child_command(
        "a_fork_inside_a_transaction_fails_in_the_child_and_the_parent_commits",
        &[(FORK_CHILD, path.display().to_string())],
    )?
    .output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("fork scenario ok"),
        "fork scenario failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert_eq!(integrity_check(&path)?, "ok");
    // The parent's transaction, all of it, and nothing of the child's.
    assert_eq!(balances_from_outside(&path)?, [50, 50]);
    assert_eq!(count_from_outside(&path, "accounts")?, 2);
    Ok(())
}

/// In the process of its own: forks inside `db.transaction`; the child goes
/// on with the transaction and then uses the handle, and reports through its
/// exit code; the parent commits its transaction and waits for the child.
#[cfg(unix)]
fn fork_scenario() -> TestResult {
    let path = std::path::PathBuf::from(std::env::var(FORK_CHILD)?);
    let db = Persistent::open(&path)?;
    two_accounts(&db)?;
    let mut child_pid = None;
    let result = db.transaction(|tx| {
        debit(tx)?;
        match fork::fork().map_err(Error::Io)? {
            fork::Fork::Parent(pid) => {
                child_pid = Some(pid);
                // Give the child time to try its writes first.
                thread::sleep(Duration::from_millis(300));
                credit(tx)
            }
            fork::Fork::Child => {
                // The child carries on, as the reproduction did.
                let _ = credit(tx);
                let _ = Account::insert(tx, &account("child", 7));
                Ok(0)
            }
        }
    });
    let Some(pid) = child_pid else {
        // The child: exit codes say what went wrong, 0 if all was refused.
        let code = match &result {
            Ok(_) => 10,
            Err(Error::Usage(m)) if m.contains("fork") => {
                match Account::insert(&db, &account("child after", 8)) {
                    Ok(_) => 11,
                    Err(Error::Usage(m)) if m.contains("fork") => {
                        match db.transaction(|_| Ok(())) {
                            Err(Error::Usage(m)) if m.contains("fork") => 0,
                            _ => 13,
                        }
                    }
                    Err(_) => 12,
                }
            }
            Err(_) => 14,
        };
        // Dropping the handle in the child must not touch the parent's file.
        drop(db);
        std::process::exit(code);
    };
    result?;
    let status = fork::waitpid(pid).map_err(Error::Io)?;
    if status != 0 {
        // Exit code in the second byte: 10 its transaction committed, 11 a
        // write through the handle succeeded, 12-14 a wrong error.
        return Err(format!(
            "the child's report: exit code {} (wait status {status:#x})",
            status >> 8
        )
        .into());
    }
    Account::insert(&db, &account("parent after", 9))?;
    Account::delete()
        .filter(Account::name.eq("parent after".to_string()))
        .run(&db)?;
    println!("fork scenario ok");
    Ok(())
}

/// A fork between calls: the child's autocommit insert through the handle
/// finds the connection free, and only the commit hook stops it. With
/// `Options::detect_file_moves(true)` the file check is a commit hook too,
/// and SQLite keeps one commit hook per connection: the crate's one hook
/// makes both checks, so neither replaces the other. (The file check on a
/// `Persistent`, which now also has the fork check, is pinned by
/// `wal_write_after_the_file_is_deleted_fails_and_writes_nothing` in
/// tests/reliability_files.rs.)
#[cfg(unix)]
#[test]
fn a_write_in_a_child_forked_between_calls_is_refused_by_the_commit_hook() -> TestResult {
    fork_between_calls(
        "a_write_in_a_child_forked_between_calls_is_refused_by_the_commit_hook",
        false,
    )
}

/// The same, with `Options::detect_file_moves(true)`.
#[cfg(unix)]
#[test]
fn a_write_in_a_forked_child_is_refused_with_detect_file_moves_on_too() -> TestResult {
    fork_between_calls(
        "a_write_in_a_forked_child_is_refused_with_detect_file_moves_on_too",
        true,
    )
}

#[cfg(unix)]
fn fork_between_calls(name: &str, detect_moves: bool) -> TestResult {
    if std::env::var_os(FORK_CHILD).is_some() {
        return fork_between_calls_scenario();
    }
    let env = if detect_moves {
        vec![(FORK_DETECT_MOVES, "1".to_owned())]
    } else {
        Vec::new()
    };
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("fork.db");
    let mut vars = vec![(FORK_CHILD, path.display().to_string())];
    vars.extend(env);
    let out = child_command(name, &vars)?.output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("fork between calls ok"),
        "fork scenario failed ({}):\n{stdout}\n{stderr}",
        out.status
    );
    assert_eq!(integrity_check(&path)?, "ok");
    // The two accounts and the parent's insert after the fork; not the child's.
    assert_eq!(count_from_outside(&path, "accounts")?, 3);
    Ok(())
}

/// In the process of its own: forks between calls; the child inserts
/// through the handle (exit code 0 when refused as a fork, 10 when it
/// committed, 11 for another error); the parent inserts, then waits.
#[cfg(unix)]
fn fork_between_calls_scenario() -> TestResult {
    let path = std::path::PathBuf::from(std::env::var(FORK_CHILD)?);
    let db = if std::env::var_os(FORK_DETECT_MOVES).is_some() {
        Persistent::open_with(&path, &Options::new().detect_file_moves(true))?
    } else {
        Persistent::open(&path)?
    };
    two_accounts(&db)?;
    // A PerQuery's idle anchor connection, opened by the parent: the child's
    // drop of its copy must leave the parent's file and locks alone.
    let pq = PerQuery::open(&path)?;
    match fork::fork().map_err(Error::Io)? {
        fork::Fork::Child => {
            let code = match Account::insert(&db, &account("child", 7)) {
                Ok(_) => 10,
                Err(Error::Usage(m)) if m.contains("fork") => 0,
                Err(_) => 11,
            };
            drop(db);
            drop(pq);
            std::process::exit(code);
        }
        fork::Fork::Parent(pid) => {
            let status = fork::waitpid(pid).map_err(Error::Io)?;
            if status != 0 {
                return Err(format!(
                    "the child's report: exit code {} (wait status {status:#x})",
                    status >> 8
                )
                .into());
            }
            assert_eq!(Account::count().get(&pq)?, 2);
            Account::insert(&db, &account("parent after", 9))?;
            assert_eq!(Account::count().get(&pq)?, 3);
            drop(pq);
            println!("fork between calls ok");
            Ok(())
        }
    }
}

// ---------------------------------------------------------------------------
// 14. SQLITE_LOCKED and a lock held by this same thread

#[test]
fn sqlite_locked_is_its_own_error_not_busy() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("locked.db");
    let conn = rusqlite::Connection::open(&path)?;
    five_ranked(&conn)?;
    // A statement of the caller's own is still reading the table.
    let mut stmt = conn.prepare("SELECT id FROM ranked")?;
    let mut rows = stmt.query([])?;
    rows.next()?;
    let started = Instant::now();
    let err = expect_err("drop_table under a reader", Ranked::drop_table(&conn));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert!(
        matches!(&err, Error::Locked { table: Some(t), .. } if t == "ranked"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("same connection") && !text.contains("retry"),
        "{text}"
    );
    drop(rows);
    drop(stmt);
    Ranked::drop_table(&conn)?;

    // The case: drop_table inside a for_each on the same Tx, now
    // refused by the scan rule before SQLite sees it.
    let db = Persistent::open(dir.path().join("locked2.db"))?;
    five_ranked(&db)?;
    let result = db.transaction(|tx| Ranked::select().for_each(tx, |_| Ranked::drop_table(tx)));
    let err = expect_err("drop_table in the scan", result);
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("for_each")),
        "{err:?}"
    );
    assert_eq!(ranks(&db)?, [10, 11, 12, 13, 14]);
    Ok(())
}

#[test]
fn a_second_connection_writing_inside_this_threads_transaction_fails_at_once() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("same_thread.db");
    let db = Persistent::open(&path)?; // default 5 s busy timeout
    let pq = PerQuery::open(&path)?;
    two_accounts(&db)?;
    let other = Persistent::open(&path)?;
    db.transaction(|tx| {
        debit(tx)?;
        let calls: [(&str, &dyn Fn() -> doctable::Result<usize>); 3] = [
            ("PerQuery", &|| credit(&pq)),
            ("another Persistent", &|| credit(&other)),
            ("another Persistent's transaction", &|| {
                other.transaction(|t| credit(t))
            }),
        ];
        for (who, call) in calls {
            let started = Instant::now();
            let err = expect_err(who, call());
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{who}: waited {:?}",
                started.elapsed()
            );
            assert!(matches!(&err, Error::Locked { .. }), "{who}: {err:?}");
            let text = err.to_string();
            assert!(
                text.contains("this thread") && !text.contains("retry"),
                "{who}: {text}"
            );
        }
        // Reads through the other connections still work (WAL): they see
        // the last commit, not this transaction.
        assert_eq!(
            Account::select_cols(Account::balance)
                .order_by(Account::id)
                .all(&pq)?,
            [100, 0]
        );
        assert_eq!(Account::count().get(&other)?, 2);
        credit(tx)
    })?;
    // Afterwards the other connections write normally, at their full timeout.
    credit(&pq)?;
    credit(&other)?;
    assert_eq!(balances_from_outside(&path)?, [50, 150]);
    Ok(())
}
