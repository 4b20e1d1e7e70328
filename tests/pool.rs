//! `Pool`: several connections to one SQLite file. Readers on other threads
//! read while a writer holds a transaction, and read at the same moment as
//! each other; writers queue on the write lock; a transaction holds one
//! connection for its whole closure. (The shared suites run on a `Pool` too:
//! `on_every_strategy!` in tests/support/backends.rs.)

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use doctable::{DocTable, Error, Options, Pool};

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Item {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

fn item(name: &str) -> Item {
    Item {
        id: None,
        name: name.into(),
    }
}

fn pool(dir: &tempfile::TempDir, size: usize, options: &Options) -> Pool {
    let pool = Pool::open_sized(dir.path().join("pool.db"), options, size).expect("open");
    Item::create_table(&pool).expect("create");
    pool
}

const WAIT: Duration = Duration::from_secs(10);

#[test]
fn a_pool_is_send_sync_and_clone() {
    fn check<T: Send + Sync + Clone + 'static>() {}
    check::<Pool>();
}

#[test]
fn readers_read_while_a_writer_holds_a_transaction() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(&dir, 4, &Options::new());
    Item::insert(&pool, &item("before")).expect("insert");
    let (inside, writer_is_inside) = mpsc::channel();
    let (release, may_commit) = mpsc::channel::<()>();
    let writer = {
        let pool = pool.clone();
        thread::spawn(move || {
            pool.transaction(|tx| {
                Item::insert(tx, &item("during"))?;
                inside.send(()).expect("signal");
                may_commit.recv_timeout(WAIT).expect("released");
                Ok(())
            })
        })
    };
    writer_is_inside
        .recv_timeout(WAIT)
        .expect("writer in its transaction");
    // Two reader threads read at once while the write lock is held: they
    // see the last commit, without the transaction's row, and do not wait.
    let started = Instant::now();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let pool = pool.clone();
            thread::spawn(move || Item::select().all(&pool).map(|rows| rows.len()))
        })
        .collect();
    for reader in readers {
        assert_eq!(reader.join().expect("reader").expect("read"), 1);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    release.send(()).expect("release");
    writer.join().expect("writer").expect("commit");
    assert_eq!(Item::count().get(&pool).expect("count"), 2);
}

#[test]
fn two_readers_are_inside_a_scan_at_the_same_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(&dir, 2, &Options::new());
    Item::insert_many(&pool, &[item("a"), item("b")]).expect("insert");
    // Each reader stops inside its `for_each` callback until the other is
    // inside its own: only two connections reading at once get both there.
    let (a_tx, a_rx) = mpsc::channel::<()>();
    let (b_tx, b_rx) = mpsc::channel::<()>();
    let scan = |pool: Pool, me: mpsc::Sender<()>, other: mpsc::Receiver<()>| {
        thread::spawn(move || {
            let mut first = true;
            Item::select().for_each(&pool, |_| {
                if first {
                    first = false;
                    me.send(()).expect("signal");
                    other
                        .recv_timeout(WAIT)
                        .map_err(|e| Error::Usage(e.to_string()))?;
                }
                Ok(())
            })
        })
    };
    let a = scan(pool.clone(), a_tx, b_rx);
    let b = scan(pool.clone(), b_tx, a_rx);
    a.join().expect("reader a").expect("scan a");
    b.join().expect("reader b").expect("scan b");
}

#[test]
fn writers_on_many_threads_queue_for_the_lock() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(&dir, 4, &Options::new());
    let writers: Vec<_> = (0..4)
        .map(|t| {
            let pool = pool.clone();
            thread::spawn(move || -> doctable::Result<()> {
                for i in 0..25 {
                    pool.transaction(|tx| {
                        Item::insert(tx, &item(&format!("{t}-{i}")))?;
                        Item::insert(tx, &item(&format!("{t}-{i}b")))?;
                        Ok(())
                    })?;
                }
                Ok(())
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer").expect("writes");
    }
    assert_eq!(Item::count().get(&pool).expect("count"), 200);
}

#[test]
fn a_write_on_the_pool_inside_its_own_transaction_fails_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(&dir, 3, &Options::new());
    let started = Instant::now();
    pool.transaction(|tx| {
        Item::insert(tx, &item("kept"))?;
        let err = Item::insert(&pool, &item("beside")).expect_err("would wait for itself");
        assert!(matches!(err, Error::Locked { .. }), "{err:?}");
        // A read on another connection sees the last commit.
        assert_eq!(Item::count().get(&pool)?, 0);
        Ok(())
    })
    .expect("transaction");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(Item::count().get(&pool).expect("count"), 1);
}

#[test]
fn every_connection_in_use_waits_then_reports_the_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let options = Options::new().busy_timeout(Duration::from_millis(200));
    let pool = pool(&dir, 1, &options);
    let (inside, holder_is_inside) = mpsc::channel();
    let (release, may_end) = mpsc::channel::<()>();
    let holder = {
        let pool = pool.clone();
        thread::spawn(move || {
            pool.transaction(|_tx| {
                inside.send(()).expect("signal");
                may_end.recv_timeout(WAIT).expect("released");
                Ok(())
            })
        })
    };
    holder_is_inside.recv_timeout(WAIT).expect("holder inside");
    let started = Instant::now();
    let err = Item::count().get(&pool).expect_err("no connection free");
    assert!(matches!(err, Error::ConnectionHeld { .. }), "{err:?}");
    assert!(
        started.elapsed() >= Duration::from_millis(150),
        "{:?}",
        started.elapsed()
    );
    release.send(()).expect("release");
    holder.join().expect("holder").expect("transaction");
    // The connection came back.
    assert_eq!(Item::count().get(&pool).expect("count"), 0);
}

#[test]
fn a_connection_left_in_a_transaction_is_closed_not_reused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pool = pool(&dir, 1, &Options::new());
    pool.with_rusqlite(|c| c.execute_batch("BEGIN; INSERT INTO item (name) VALUES ('x')"))
        .expect("call")
        .expect("begin");
    // The next call gets a fresh connection; the open transaction was rolled back.
    assert_eq!(Item::count().get(&pool).expect("count"), 0);
    Item::insert(&pool, &item("y")).expect("insert");
    assert_eq!(Item::count().get(&pool).expect("count"), 1);
}

#[test]
fn an_in_memory_database_is_refused() {
    let err = Pool::open(":memory:").expect_err("refused");
    assert!(matches!(err, Error::Usage(_)), "{err:?}");
    assert!(err.to_string().contains(":memory:"), "{err}");
}

/// The workspace builds SQLite without `SQLITE_ENABLE_MEMORY_MANAGEMENT`
/// (`.cargo/config.toml`): with it, every page read of every connection in
/// the process takes one mutex, and two reading threads on a `Pool` read no
/// faster than one (BENCHMARKS.md, "Pool readers"). A build that lost the
/// setting fails here instead of only in the benchmark.
#[test]
fn the_bundled_sqlite_gives_each_connection_its_own_page_cache() {
    let conn = doctable::rusqlite::Connection::open_in_memory().expect("open");
    let mut stmt = conn.prepare("PRAGMA compile_options").expect("prepare");
    let options: Vec<String> = stmt
        .query_map([], |row| row.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("read");
    assert!(
        options.iter().any(|o| o.starts_with("THREADSAFE=")),
        "compile options not read: {options:?}"
    );
    assert!(
        !options.iter().any(|o| o == "ENABLE_MEMORY_MANAGEMENT"),
        "SQLite was built with ENABLE_MEMORY_MANAGEMENT (set LIBSQLITE3_FLAGS as .cargo/config.toml does): {options:?}"
    );
}
