//! `PerQuery` connections close without checkpointing the WAL
//! (`SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE`): a call leaves its committed frames
//! in the `-wal` file; once the WAL passes 16 pages a call truncates it (a
//! checkpoint that never waits), so it stays bounded; every reader that
//! opens the file afterwards sees every row.

use std::path::Path;

use doctable::rusqlite;
use doctable::{DocTable, PerQuery, Persistent};

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(index)]
    text: String,
}

fn note(i: usize) -> Note {
    Note {
        id: None,
        text: format!("note {i} {}", "x".repeat(i % 50)),
    }
}

fn size(path: &Path, suffix: &str) -> Option<u64> {
    std::fs::metadata(format!("{}{suffix}", path.display()))
        .ok()
        .map(|m| m.len())
}

#[test]
fn a_per_query_call_leaves_no_checkpoint_to_its_close() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.db");
    let db = PerQuery::open(&path).expect("open");
    Note::create_table(&db).expect("create");
    let before = size(&path, "").expect("database file");
    for i in 0..3 {
        Note::insert(&db, &note(i)).expect("insert");
    }
    // Every call's connection is closed and none is open: a close that
    // checkpointed would have copied the frames into the database file and
    // deleted the WAL. Both files are as the commits left them.
    let wal = size(&path, "-wal").expect("the WAL stays after the last close");
    assert!(
        wal > 3 * 4096,
        "the commits' frames are in the WAL: {wal} bytes"
    );
    assert_eq!(
        size(&path, "").expect("database file"),
        before,
        "nothing checkpointed"
    );
    // Reads leave the WAL as it is.
    for _ in 0..5 {
        assert_eq!(Note::count().get(&db).expect("count"), 3);
    }
    assert_eq!(size(&path, "-wal"), Some(wal));
    // A reader opening the file afterwards sees every row.
    let reader = Persistent::open(&path).expect("reopen");
    assert_eq!(Note::count().get(&reader).expect("count"), 3);
    assert_eq!(Note::count().get(&db).expect("count"), 3);
    drop(reader);
    // The PerQuery's idle anchor connection is still open, so the
    // Persistent's close was not the last one and left the WAL.
    assert!(size(&path, "-wal").is_some(), "the anchor keeps the WAL");
    assert_eq!(Note::count().get(&db).expect("count"), 3);
    // The anchor's close (the last connection) checkpoints and removes it.
    let clone = db.clone();
    drop(db);
    assert!(size(&path, "-wal").is_some(), "a clone keeps the anchor");
    drop(clone);
    assert!(
        size(&path, "-wal").is_none(),
        "the last close still checkpoints"
    );
    let reader = Persistent::open(&path).expect("reopen");
    assert_eq!(Note::count().get(&reader).expect("count"), 3);
}

/// How many of this process's file descriptors are open on `path` (or its
/// `-wal` / `-shm`).
#[cfg(target_os = "linux")]
fn open_handles(path: &Path) -> usize {
    let name = path.file_name().expect("file name").to_owned();
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| {
            target.parent() == path.parent()
                && target
                    .file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with(&*name.to_string_lossy()))
        })
        .count()
}

#[cfg(target_os = "linux")]
#[test]
fn the_anchor_is_one_idle_connection_and_close_between_calls_holds_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("handles.db");
    let db = PerQuery::open(&path).expect("open");
    Note::create_table(&db).expect("create");
    Note::insert(&db, &note(1)).expect("insert");
    // The anchor: the database, its WAL and its WAL index, between calls,
    // and the database handle of the last call's connection, which SQLite
    // keeps open while another connection of the process has the file open
    // (closing it would drop that connection's POSIX locks) and hands to
    // the next open.
    let anchored = open_handles(&path);
    assert_eq!(anchored, 4);
    // Its calls go on through their own connections, which close: nothing
    // accumulates.
    for i in 0..20 {
        Note::insert(&db, &note(i)).expect("insert");
        assert_eq!(Note::count().get(&db).expect("count"), i as i64 + 2);
    }
    assert_eq!(open_handles(&path), anchored);
    let bare = db.close_between_calls();
    assert_eq!(open_handles(&path), 0, "nothing held between calls");
    Note::insert(&bare, &note(30)).expect("insert");
    assert_eq!(Note::count().get(&bare).expect("count"), 22);
    assert_eq!(open_handles(&path), 0, "nothing held between calls");
    // A rollback-journal database has no WAL index to keep: no anchor.
    let journal = dir.path().join("journal.db");
    let db = PerQuery::open_with(&journal, &doctable::Options::new().wal(false)).expect("open");
    Note::create_table(&db).expect("create");
    assert_eq!(open_handles(&journal), 0);
}

#[test]
fn the_wal_stays_bounded_over_many_per_query_writes() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bounded.db");
    let db = PerQuery::open(&path).expect("open");
    Note::create_table(&db).expect("create");
    let mut largest = 0;
    let mut truncated = 0;
    let writes = 1_000;
    for i in 0..writes {
        Note::insert(&db, &note(i)).expect("insert");
        let wal = size(&path, "-wal").unwrap_or(0);
        largest = largest.max(wal);
        truncated += usize::from(wal == 0);
    }
    // Truncated whenever it passed 16 pages: never more than that and one
    // commit's pages.
    let bound = (16 + 8) * (4096 + 24) + 32;
    assert!(
        largest <= bound,
        "largest WAL {largest} bytes, bound {bound}"
    );
    assert!(truncated > 10, "truncated {truncated} times");
    // Every row is there, for a reader opened afterwards.
    let reader = rusqlite::Connection::open(&path).expect("reopen");
    let n: i64 = reader
        .query_row("SELECT count(*) FROM note", [], |r| r.get(0))
        .expect("count");
    assert_eq!(n, writes as i64);
    let last: String = reader
        .query_row("SELECT text FROM note ORDER BY id DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .expect("last row");
    assert_eq!(last, note(writes - 1).text);
}

#[test]
fn a_transaction_and_a_backup_see_the_frames_left_in_the_wal() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("tx.db");
    let db = PerQuery::open(&path).expect("open");
    Note::create_table(&db).expect("create");
    db.transaction(|tx| {
        for i in 0..10 {
            Note::insert(tx, &note(i))?;
        }
        Ok(())
    })
    .expect("transaction");
    assert!(size(&path, "-wal").is_some());
    // A backup copies what is committed, WAL frames included.
    let copy = dir.path().join("copy.db");
    Persistent::open(&path)
        .expect("open")
        .backup_to(&copy)
        .expect("backup");
    let restored = Persistent::open(&copy).expect("open copy");
    assert_eq!(Note::count().get(&restored).expect("count"), 10);
}

#[test]
fn a_reader_elsewhere_makes_the_truncation_wait_for_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("reader.db");
    let db = PerQuery::open(&path).expect("open");
    Note::create_table(&db).expect("create");
    Note::insert(&db, &note(0)).expect("insert");
    // Another connection holds a read transaction open throughout.
    let reader = rusqlite::Connection::open(&path).expect("open reader");
    reader.execute_batch("BEGIN").expect("begin");
    let seen: i64 = reader
        .query_row("SELECT count(*) FROM note", [], |r| r.get(0))
        .expect("read");
    assert_eq!(seen, 1);
    let started = std::time::Instant::now();
    for i in 1..60 {
        Note::insert(&db, &note(i)).expect("insert");
    }
    // 59 writes pass the limit several times; no truncation waited for the
    // reader (each would have waited the 5 s busy timeout).
    assert!(
        started.elapsed() < std::time::Duration::from_secs(4),
        "{:?}",
        started.elapsed()
    );
    reader.execute_batch("COMMIT").expect("end read");
    drop(reader);
    Note::insert(&db, &note(60)).expect("insert");
    assert_eq!(Note::count().get(&db).expect("count"), 61);
}
