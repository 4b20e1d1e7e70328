//! Issue 9: what happens to a database's files under an open connection, the
//! names a database may be opened by, buffer sizes, column and index names,
//! and the online backup.
//!
//! What must hold: a write into a file that was deleted, renamed or replaced
//! while open fails with `Error::DatabaseMoved` and writes nothing, with or
//! without WAL; URI filenames are refused by every strategy, so no query
//! parameter can turn a file into a private in-memory database; `chunks`
//! allocates by what it reads, never by the size asked for; a backup taken
//! while other connections write is one whole committed state.

mod reliability_support;

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use doctable::{DocTable, Error, Options, PerQuery, Persistent, rusqlite};
use reliability_support::{TestResult, child_command, integrity_check, wait_all};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "notes")]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
}

fn note(text: &str) -> Note {
    Note {
        id: None,
        text: text.to_owned(),
    }
}

fn expect_err<T: std::fmt::Debug>(result: doctable::Result<T>) -> Error {
    match result {
        Ok(value) => panic!("expected an error, got Ok({value:?})"),
        Err(e) => e,
    }
}

/// The rows of `notes` in the file at `path`, read by a fresh connection.
fn texts_in(path: &Path) -> Result<Vec<String>, Box<dyn std::error::Error>> {
    let db = Persistent::open(path)?;
    Ok(Note::select()
        .order_by(Note::id)
        .all(&db)?
        .into_iter()
        .map(|n| n.text)
        .collect())
}

/// A database at `path` holding the notes "one" and "two", open in `db`.
fn two_notes(path: &Path, options: &Options) -> Result<Persistent, Box<dyn std::error::Error>> {
    let db = Persistent::open_with(path, options)?;
    Note::create_table(&db)?;
    Note::insert(&db, &note("one"))?;
    Note::insert(&db, &note("two"))?;
    Ok(db)
}

/// The options that turn on the commit check for a moved file.
fn watched() -> Options {
    Options::new().detect_file_moves(true)
}

fn assert_moved(err: &Error, what: &str) {
    assert!(
        matches!(err, Error::DatabaseMoved { .. }),
        "{what}: expected Error::DatabaseMoved, got {err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("moved or deleted while open") && message.contains("reopen"),
        "{what}: the message says what happened and what to do: {message}"
    );
}

// ---------------------------------------------------------------------------
// Item 8: the file deleted, renamed or replaced under an open Persistent

/// WAL mode (the default journal): SQLite itself goes on writing into the
/// unlinked file and reports success; with `detect_file_moves` the crate's
/// commit check refuses the commit.
#[test]
fn wal_write_after_the_file_is_deleted_fails_and_writes_nothing() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let db = two_notes(&path, &watched())?;
    fs::remove_file(&path)?;

    let err = expect_err(Note::insert(&db, &note("lost")));
    assert_moved(&err, "insert");
    let err = expect_err(Note::insert_many(&db, &[note("lost 1"), note("lost 2")]));
    assert_moved(&err, "insert_many");
    let err = expect_err(db.transaction(|tx| {
        Note::insert(tx, &note("lost 3"))?;
        Note::insert(tx, &note("lost 4"))?;
        Ok(())
    }));
    assert_moved(&err, "transaction");
    // The connection still reads what it has (the unlinked file), and holds
    // none of the refused rows.
    let texts: Vec<String> = Note::select()
        .all(&db)?
        .into_iter()
        .map(|n| n.text)
        .collect();
    assert_eq!(texts, ["one", "two"]);
    Ok(())
}

#[test]
fn wal_write_after_the_file_is_renamed_fails_and_the_renamed_file_is_whole() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let moved = dir.path().join("moved.db");
    let db = two_notes(&path, &watched())?;
    fs::rename(&path, &moved)?;

    let err = expect_err(Note::insert(&db, &note("lost")));
    assert_moved(&err, "insert after rename");
    drop(db);
    for suffix in ["-wal", "-shm"] {
        let side = PathBuf::from(format!("{}{suffix}", path.display()));
        if side.exists() {
            fs::rename(&side, format!("{}{suffix}", moved.display()))?;
        }
    }
    assert_eq!(texts_in(&moved)?, ["one", "two"]);
    Ok(())
}

/// What RELIABILITY.md says of the default (`detect_file_moves` off, WAL):
/// the write reports `Ok` and no later connection sees it. If SQLite ever
/// checks by itself, this test says so and the documentation must change.
#[test]
fn without_the_check_a_wal_write_into_a_deleted_file_is_lost() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let db = two_notes(&path, &Options::new())?;
    fs::remove_file(&path)?;
    Note::insert(&db, &note("lost"))?;
    drop(db);
    assert!(!path.exists() || texts_in(&path)?.is_empty());
    Ok(())
}

/// Through a `PerQuery` transaction: the file goes away between the
/// transaction's writes, its commit is refused.
#[test]
fn per_query_transaction_commit_after_the_file_is_deleted_fails() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let db = PerQuery::open_with(&path, &watched())?;
    Note::create_table(&db)?;
    let err = expect_err(db.transaction(|tx| {
        Note::insert(tx, &note("first"))?;
        fs::remove_file(&path).map_err(Error::Io)?;
        Note::insert(tx, &note("second"))?;
        Ok(())
    }));
    assert_moved(&err, "PerQuery transaction");
    Ok(())
}

/// The tester's case: another database renamed over the live file.
#[test]
fn wal_write_after_the_file_is_replaced_fails() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let other = dir.path().join("other.db");
    let db = two_notes(&path, &watched())?;
    drop(two_notes(&other, &Options::new())?);
    fs::rename(&other, &path)?;

    let err = expect_err(Note::insert(&db, &note("lost")));
    assert_moved(&err, "insert after replace");
    Ok(())
}

/// Without WAL SQLite notices itself (SQLITE_READONLY_DBMOVED) but said only
/// "attempt to write a readonly database".
#[test]
fn rollback_journal_write_after_the_file_is_deleted_says_moved() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let db = two_notes(&path, &Options::new().wal(false))?;
    fs::remove_file(&path)?;

    let err = expect_err(Note::insert(&db, &note("lost")));
    assert_moved(&err, "insert without WAL");
    assert!(
        !err.to_string().contains("open read-only"),
        "not mistaken for a read-only database: {err}"
    );
    let err = expect_err(db.transaction(|tx| Note::insert(tx, &note("lost"))));
    assert_moved(&err, "transaction without WAL");
    Ok(())
}

#[test]
fn rollback_journal_write_after_the_file_is_replaced_says_moved() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let other = dir.path().join("other.db");
    let db = two_notes(&path, &Options::new().wal(false))?;
    drop(two_notes(&other, &Options::new().wal(false))?);
    fs::rename(&other, &path)?;
    let err = expect_err(Note::insert(&db, &note("lost")));
    assert_moved(&err, "insert without WAL after replace");
    Ok(())
}

/// The check compares the file SQLite opened (by its absolute name) with what
/// that name holds now: a relative path and a later change of the working
/// directory are no move. Run in a child process, which may change directory.
#[test]
fn a_relative_path_and_a_changed_working_directory_are_no_move() -> TestResult {
    if let Ok(dir) = std::env::var("DOCTABLE_FILES_CWD_CHILD") {
        let dir = PathBuf::from(dir);
        std::env::set_current_dir(&dir)?;
        let db = two_notes(Path::new("notes.db"), &watched())?;
        std::env::set_current_dir(dir.join("elsewhere"))?;
        Note::insert(&db, &note("three"))?;
        db.transaction(|tx| Note::insert(tx, &note("four")))?;
        println!("child wrote after chdir");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    fs::create_dir(dir.path().join("elsewhere"))?;
    let child = child_command(
        "a_relative_path_and_a_changed_working_directory_are_no_move",
        &[("DOCTABLE_FILES_CWD_CHILD", dir.path().display().to_string())],
    )?
    .spawn()?;
    let outputs = wait_all(vec![child], Duration::from_secs(60))?;
    let out = &outputs[0];
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("child wrote after chdir"),
        "child failed: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        texts_in(&dir.path().join("notes.db"))?,
        ["one", "two", "three", "four"]
    );
    Ok(())
}

/// What to do after the error: `backup_to` saves what the connection still
/// holds (it reads the open, unlinked file), then reopen the copy.
#[test]
fn backup_to_rescues_the_rows_of_a_deleted_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("notes.db");
    let rescued = dir.path().join("rescued.db");
    let db = two_notes(&path, &watched())?;
    fs::remove_file(&path)?;
    fs::remove_file(format!("{}-wal", path.display())).ok();
    fs::remove_file(format!("{}-shm", path.display())).ok();
    assert_moved(&expect_err(Note::insert(&db, &note("lost"))), "insert");

    db.backup_to(&rescued)?;
    drop(db);
    assert_eq!(texts_in(&rescued)?, ["one", "two"]);
    Ok(())
}

// ---------------------------------------------------------------------------
// Item 13: chunk sizes

#[test]
fn chunks_with_huge_sizes_allocate_by_what_is_read() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Persistent::open(dir.path().join("chunks.db"))?;
    Note::create_table(&db)?;
    let notes: Vec<Note> = (0..5).map(|i| note(&format!("n{i}"))).collect();
    Note::insert_many(&db, &notes)?;
    for size in [usize::MAX, 1 << 40, usize::MAX / 2 + 1, 6, 5] {
        let mut batches = Vec::new();
        Note::select()
            .order_by(Note::id)
            .chunks(&db, size, |batch| {
                batches.push(batch.into_iter().map(|n| n.text).collect::<Vec<_>>());
                Ok(())
            })?;
        assert_eq!(
            batches,
            [["n0", "n1", "n2", "n3", "n4"]],
            "size {size}: one chunk holding every row"
        );
    }
    let mut sizes = Vec::new();
    Note::select().chunks(&db, 2, |batch| {
        sizes.push(batch.len());
        Ok(())
    })?;
    assert_eq!(sizes, [2, 2, 1]);
    // An empty result calls nothing, whatever the size.
    let mut calls = 0;
    Note::select()
        .filter(Note::text.eq("none"))
        .chunks(&db, usize::MAX, |_| {
            calls += 1;
            Ok(())
        })?;
    assert_eq!(calls, 0);
    Ok(())
}

#[test]
fn chunks_of_size_zero_is_a_usage_error() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Note::create_table(&db)?;
    Note::insert(&db, &note("x"))?;
    let mut calls = 0;
    let err = expect_err(Note::select().chunks(&db, 0, |_| {
        calls += 1;
        Ok(())
    }));
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("chunk") && m.contains("0")),
        "{err:?}"
    );
    assert_eq!(calls, 0);
    Ok(())
}

// ---------------------------------------------------------------------------
// Item 16: URI filenames

/// Every form SQLite reads as a private in-memory (or temporary) database.
const IN_MEMORY_FORMS: &[&str] = &[
    ":memory:",
    "",
    "file::memory:",
    "file::memory:?cache=shared",
    "file:shared?mode=memory&cache=shared",
    "file:/x?vfs=memdb",
    "file:adv?mode=%6demory",
    "file:adv?%6dode=memory",
    "file:adv?mode=memory#fragment",
    "file:%3Amemory%3A",
    "file:",
    "file:?cache=shared",
    "file://localhost?mode=memory",
];

#[test]
fn per_query_refuses_every_in_memory_form() -> TestResult {
    let dir = tempfile::tempdir()?;
    // The relative forms would create files in the working directory if they
    // were opened as files: check none appears there either.
    let cwd_before: Vec<_> = fs::read_dir(".")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    for form in IN_MEMORY_FORMS {
        let err = expect_err(PerQuery::open(form));
        assert!(matches!(&err, Error::Usage(_)), "{form:?}: {err:?}");
        let err = expect_err(PerQuery::open_with(form, &Options::new().wal(false)));
        assert!(matches!(&err, Error::Usage(_)), "{form:?}: {err:?}");
    }
    let cwd_after: Vec<_> = fs::read_dir(".")?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .collect();
    assert_eq!(cwd_before.len(), cwd_after.len(), "no file created");
    // The tester's sequence: accepted, create_table Ok, then "no such table".
    let path = format!("file:{}?vfs=memdb", dir.path().join("x.db").display());
    assert!(matches!(PerQuery::open(&path), Err(Error::Usage(_))));
    Ok(())
}

#[test]
fn uri_filenames_are_refused_by_every_strategy() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("notes.db");
    let uri = format!("file:{}", file.display());
    for form in [
        uri.clone(),
        format!("{uri}?mode=rwc"),
        format!("{uri}?nolock=1"),
        format!("{uri}?immutable=1"),
        format!("file://localhost{}", file.display()),
    ] {
        for (who, result) in [
            ("Persistent::open", Persistent::open(&form).map(drop)),
            (
                "Persistent::open_with read_only",
                Persistent::open_with(&form, &Options::new().read_only(true)).map(drop),
            ),
            ("PerQuery::open", PerQuery::open(&form).map(drop)),
        ] {
            let err = expect_err(result);
            match &err {
                Error::Usage(m) => {
                    assert!(
                        m.contains("URI") && m.contains("file:"),
                        "{who} {form}: {m}"
                    )
                }
                other => panic!("{who} {form}: expected Error::Usage, got {other:?}"),
            }
        }
    }
    assert!(!file.exists(), "nothing opened `{}`", file.display());
    assert_eq!(fs::read_dir(dir.path())?.count(), 0, "no file created");
    Ok(())
}

/// A file whose name starts with `file:` is still reachable, by a path that
/// does not start with it, and `path()` says the name that was opened.
#[test]
fn a_file_named_file_colon_opens_as_a_plain_file() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("file:notes.db");
    let db = Persistent::open(&path)?;
    assert_eq!(db.path(), path);
    Note::create_table(&db)?;
    Note::insert(&db, &note("kept"))?;
    drop(db);
    assert!(path.is_file());
    let per_query = PerQuery::open(&path)?;
    assert_eq!(Note::count().get(&per_query)?, 1);
    Ok(())
}

// ---------------------------------------------------------------------------
// Item 17: column and index names

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "umlauts")]
#[allow(non_snake_case)]
struct Umlauts {
    #[doctable(primary_key)]
    id: Option<i64>,
    ÄÖÜ: i64,
    äöü: i64,
    #[doctable(rename = "Ωmega")]
    upper: String,
    #[doctable(rename = "ωmega")]
    lower: String,
}

/// SQLite folds only ASCII letters in names: `ÄÖÜ` and `äöü` are two columns.
#[test]
fn non_ascii_names_that_differ_in_case_are_two_columns() -> TestResult {
    let db = Persistent::open_in_memory()?;
    Umlauts::create_table(&db)?;
    let row = Umlauts {
        id: None,
        ÄÖÜ: 1,
        äöü: 2,
        upper: "Ω".into(),
        lower: "ω".into(),
    };
    let id = Umlauts::insert(&db, &row)?;
    let back = Umlauts::get(&db, id)?.ok_or("row missing")?;
    assert_eq!((back.ÄÖÜ, back.äöü), (1, 2));
    assert_eq!((back.upper.as_str(), back.lower.as_str()), ("Ω", "ω"));
    assert_eq!(Umlauts::count().filter(Umlauts::äöü.eq(2)).get(&db)?, 1);
    let columns: Vec<String> = db.with_rusqlite(|c| {
        let mut stmt = c.prepare("SELECT name FROM pragma_table_info('umlauts') ORDER BY cid")?;
        stmt.query_map([], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()
    })??;
    assert_eq!(columns, ["id", "ÄÖÜ", "äöü", "Ωmega", "ωmega"]);
    Ok(())
}

mod collide {
    use doctable::DocTable;

    /// Table `a_b`, column `c`: automatic index name `ix_a_b_c`.
    #[derive(DocTable, Debug)]
    #[doctable(table = "a_b")]
    pub struct AB {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(index)]
        pub c: i64,
    }

    /// Table `a`, column `b_c`: automatic index name `ix_a_b_c` too.
    #[derive(DocTable, Debug)]
    #[doctable(table = "a")]
    pub struct A {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(index)]
        pub b_c: i64,
    }

    /// The same table as `A`, its index named by the user.
    #[derive(DocTable, Debug)]
    #[doctable(table = "a")]
    pub struct ANamed {
        #[doctable(primary_key)]
        pub id: Option<i64>,
        #[doctable(index = "ix_a__b_c")]
        pub b_c: i64,
    }
}

/// Automatic index names keep their form `ix_{table}_{column}` (databases
/// hold them), so `(a_b, c)` and `(a, b_c)` still meet; the error says how to
/// name one, and a named index does not meet.
#[test]
fn colliding_automatic_index_names_can_be_named_apart() -> TestResult {
    use collide::{A, AB, ANamed};
    let db = Persistent::open_in_memory()?;
    AB::create_table(&db)?;
    let err = expect_err(A::create_table(&db));
    let message = err.to_string();
    assert!(
        matches!(&err, Error::SchemaMismatch { .. })
            && message.contains("ix_a_b_c")
            && message.contains("a_b")
            && message.contains("#[doctable(index = "),
        "says which index and how to name it: {message}"
    );
    ANamed::create_table(&db)?;
    ANamed::insert(&db, &ANamed { id: None, b_c: 7 })?;
    AB::insert(&db, &AB { id: None, c: 8 })?;
    let indexes: Vec<(String, String)> = db.with_rusqlite(|c| {
        let mut stmt = c.prepare(
            "SELECT name, tbl_name FROM sqlite_schema WHERE type = 'index' ORDER BY name",
        )?;
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<rusqlite::Result<Vec<_>>>()
    })??;
    assert_eq!(
        indexes,
        [
            ("ix_a__b_c".to_owned(), "a".to_owned()),
            ("ix_a_b_c".to_owned(), "a_b".to_owned())
        ]
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Beyond the findings: the online backup

/// One row that counts the notes: every writer transaction adds ten notes and
/// ten to the count, so a whole committed state has `count == notes`.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "tally")]
struct Tally {
    #[doctable(primary_key)]
    id: Option<i64>,
    notes: i64,
}

const BATCH: i64 = 10;

/// A database at `path` with `batches` writer transactions already in it.
fn tallied(path: &Path, batches: i64) -> Result<Persistent, Box<dyn std::error::Error>> {
    tallied_with(path, batches, &Options::new())
}

fn tallied_with(
    path: &Path,
    batches: i64,
    options: &Options,
) -> Result<Persistent, Box<dyn std::error::Error>> {
    let db = Persistent::open_with(path, options)?;
    Note::create_table(&db)?;
    Tally::create_table(&db)?;
    Tally::insert(
        &db,
        &Tally {
            id: Some(1),
            notes: 0,
        },
    )?;
    for _ in 0..batches {
        write_batch(&db)?;
    }
    Ok(db)
}

/// One writer transaction: ten notes of 300 bytes and the tally moved by ten.
fn write_batch(db: &Persistent) -> doctable::Result<()> {
    db.transaction(|tx| {
        let notes: Vec<Note> = (0..BATCH).map(|i| note(&format!("{i:0>300}"))).collect();
        Note::insert_many(tx, &notes)?;
        Tally::update()
            .set(Tally::notes, Tally::notes + BATCH)
            .filter(Tally::id.eq(1))
            .run(tx)?;
        Ok(())
    })
}

/// Notes and tally in the file at `path`: (number of notes, tally).
fn notes_and_tally(path: &Path) -> Result<(i64, i64), Box<dyn std::error::Error>> {
    let db = Persistent::open_with(path, &Options::new().read_only(true))?;
    let notes = Note::count().get(&db)?;
    let tally = Tally::get(&db, 1)?.ok_or("tally row missing")?.notes;
    Ok((notes, tally))
}

/// No temporary file of a backup is left in `dir`.
fn assert_no_leftovers(dir: &Path) -> TestResult {
    let left: Vec<String> = fs::read_dir(dir)?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".backup-"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    Ok(())
}

/// Waits (up to 20 s) until `done()` holds, for a progress callback that must
/// see other connections commit while the backup runs.
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn backup_while_another_thread_writes_is_one_committed_state() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.db");
    let dest = dir.path().join("copy.db");
    let db = tallied(&path, 300)?;
    let (start_notes, _) = notes_and_tally(&path)?;

    // A second connection (its own Persistent) writes until told to stop.
    let stop = Arc::new(AtomicBool::new(false));
    let batches = Arc::new(AtomicU64::new(0));
    let writer = {
        let (path, stop, batches) = (path.clone(), stop.clone(), batches.clone());
        thread::spawn(move || -> doctable::Result<()> {
            let db = Persistent::open(&path)?;
            while !stop.load(Ordering::Relaxed) {
                write_batch(&db)?;
                batches.fetch_add(1, Ordering::Relaxed);
            }
            Ok(())
        })
    };
    wait_for("the writer's first commits", || {
        batches.load(Ordering::Relaxed) >= 3
    });

    let mut steps = 0u64;
    let mut remaining = Vec::new();
    let mut at_first_step = None;
    let mut seen_during = 0;
    db.backup_to_with_progress(&dest, 1, |p| {
        steps += 1;
        remaining.push(p.remaining);
        let now = batches.load(Ordering::Relaxed);
        let first = *at_first_step.get_or_insert(now);
        if p.remaining == p.page_count / 2 {
            // Halfway, the writer commits five more times: WAL lets it.
            wait_for("the writer to commit during the backup", || {
                batches.load(Ordering::Relaxed) >= first + 5
            });
        }
        seen_during = now - first;
    })?;
    let during = batches.load(Ordering::Relaxed) - at_first_step.unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    writer.join().map_err(|_| "writer panicked")??;

    assert!(steps > 10, "one page a step: {steps} steps");
    assert!(
        during >= 5 && seen_during >= 5,
        "the writer went on: {during} commits"
    );
    // One snapshot: the other connection's commits never restarted the copy
    // (without it SQLite starts over at the next step, and a steady writer
    // can keep a stepped backup from ever finishing).
    assert!(
        remaining.windows(2).all(|w| w[1] < w[0]),
        "the copy restarted: {remaining:?}"
    );
    assert_eq!(integrity_check(&dest)?, "ok");
    let (notes, tally) = notes_and_tally(&dest)?;
    assert_eq!(notes, tally, "the copy is one committed state");
    assert_eq!(notes % BATCH, 0);
    assert!(
        notes > start_notes,
        "the copy has the writer's first commits"
    );
    let first = i64::try_from(at_first_step.unwrap_or(0))?;
    assert!(
        notes <= start_notes + first * BATCH,
        "the copy is the state when it started: {notes} notes, {first} batches by the first step"
    );
    let (live_notes, live_tally) = notes_and_tally(&path)?;
    assert_eq!(live_notes, live_tally);
    assert!(
        notes + 5 * BATCH <= live_notes,
        "the copy is the state when it started ({notes} notes), not a later one ({live_notes})"
    );
    assert_no_leftovers(dir.path())?;
    Ok(())
}

/// The writer is another process, writing until a stop file appears.
#[test]
fn backup_while_another_process_writes_is_one_committed_state() -> TestResult {
    if let Ok(path) = std::env::var("DOCTABLE_FILES_WRITER_CHILD") {
        let path = PathBuf::from(path);
        let stop = PathBuf::from(format!("{}.stop", path.display()));
        let db = Persistent::open(&path)?;
        let mut batches = 0u64;
        while !stop.exists() {
            write_batch(&db)?;
            batches += 1;
        }
        println!("writer committed {batches} batches");
        return Ok(());
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.db");
    let dest = dir.path().join("copy.db");
    let db = tallied(&path, 300)?;
    let child = child_command(
        "backup_while_another_process_writes_is_one_committed_state",
        &[("DOCTABLE_FILES_WRITER_CHILD", path.display().to_string())],
    )?
    .spawn()?;
    // Reads the live count through a third connection (this test's `db` is
    // busy with the backup while its callback runs).
    let live_notes = || notes_and_tally(&path).map(|(n, _)| n).unwrap_or(0);
    let before = live_notes();
    wait_for("the child's first commits", || {
        live_notes() >= before + 3 * BATCH
    });

    let mut first = None;
    db.backup_to_with_progress(&dest, 1, |p| {
        let start = *first.get_or_insert_with(live_notes);
        if p.remaining == p.page_count / 2 {
            wait_for("the child to commit during the backup", || {
                live_notes() >= start + 5 * BATCH
            });
        }
    })?;
    fs::write(format!("{}.stop", path.display()), b"")?;
    let outputs = wait_all(vec![child], Duration::from_secs(60))?;
    let stdout = String::from_utf8_lossy(&outputs[0].stdout);
    assert!(
        outputs[0].status.success() && stdout.contains("writer committed"),
        "writer failed: {stdout}\n{}",
        String::from_utf8_lossy(&outputs[0].stderr)
    );

    assert_eq!(integrity_check(&dest)?, "ok");
    let (notes, tally) = notes_and_tally(&dest)?;
    assert_eq!(notes, tally, "the copy is one committed state");
    let (live, live_tally) = notes_and_tally(&path)?;
    assert_eq!(live, live_tally);
    assert!(
        notes > before && notes + 5 * BATCH <= live,
        "{before} < {notes} < {live}"
    );
    Ok(())
}

/// Without WAL the backup's snapshot is a shared lock: a writer's commit
/// waits for the backup (within its busy timeout), then goes through.
#[test]
fn without_wal_a_writer_waits_for_the_backup_then_commits() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.db");
    let dest = dir.path().join("copy.db");
    let options = Options::new().wal(false);
    let db = tallied_with(&path, 100, &options)?;
    let (go, started) = std::sync::mpsc::channel::<()>();
    let writer = {
        let path = path.clone();
        thread::spawn(move || -> Result<Duration, String> {
            let db = Persistent::open_with(&path, &Options::new().wal(false))
                .map_err(|e| e.to_string())?;
            started.recv().map_err(|e| e.to_string())?;
            let t = Instant::now();
            write_batch(&db).map_err(|e| e.to_string())?;
            Ok(t.elapsed())
        })
    };
    db.backup_to_with_progress(&dest, 1, |p| {
        if p.remaining == p.page_count / 2 {
            let _ = go.send(());
            thread::sleep(Duration::from_millis(400));
        }
    })?;
    let waited = writer.join().map_err(|_| "writer panicked")??;
    assert!(
        waited >= Duration::from_millis(200),
        "the writer waited: {waited:?}"
    );
    assert_eq!(
        notes_and_tally(&dest)?,
        (1000, 1000),
        "the copy is the state before the write"
    );
    assert_eq!(
        notes_and_tally(&path)?,
        (1010, 1010),
        "the write went through after"
    );
    Ok(())
}

#[test]
fn backup_progress_counts_down_to_zero() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.db");
    let db = tallied(&path, 50)?;
    let mut seen = Vec::new();
    db.backup_to_with_progress(dir.path().join("copy.db"), 3, |p| seen.push(p))?;
    let total = seen[0].page_count;
    assert!(total > 10, "{total} pages");
    assert!(seen.iter().all(|p| p.page_count == total));
    assert!(seen.windows(2).all(|w| w[1].remaining < w[0].remaining));
    assert_eq!(seen.last().map(|p| p.remaining), Some(0));
    assert_eq!(seen.len() as u64, total.div_ceil(3));
    assert_eq!(notes_and_tally(&dir.path().join("copy.db"))?, (500, 500));

    let err = expect_err(db.backup_to_with_progress(dir.path().join("other.db"), 0, |_| ()));
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("pages_per_step")),
        "{err:?}"
    );
    assert!(!dir.path().join("other.db").exists());
    Ok(())
}

/// A backup never overwrites: not a file, and not a new file beside an old
/// `-wal` (which SQLite would read as the new file's log).
#[test]
fn backup_refuses_a_destination_that_exists() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = tallied(&dir.path().join("live.db"), 1)?;
    let dest = dir.path().join("copy.db");
    for side in ["", "-wal", "-shm", "-journal"] {
        let taken = PathBuf::from(format!("{}{side}", dest.display()));
        fs::write(&taken, b"precious")?;
        let err = expect_err(db.backup_to(&dest));
        match &err {
            Error::Usage(m) => assert!(
                m.contains("exists") && m.contains("never overwrites"),
                "{m}"
            ),
            other => panic!("{side}: expected Error::Usage, got {other:?}"),
        }
        assert_eq!(fs::read(&taken)?, b"precious", "{side} untouched");
        fs::remove_file(&taken)?;
    }
    assert!(!dest.exists());
    for bad in [
        PathBuf::from(":memory:"),
        PathBuf::from(""),
        PathBuf::from(format!("file:{}", dest.display())),
    ] {
        assert!(
            matches!(db.backup_to(&bad), Err(Error::Usage(_))),
            "{bad:?}"
        );
    }
    db.backup_to(&dest)?;
    assert_eq!(notes_and_tally(&dest)?, (10, 10));
    assert_no_leftovers(dir.path())?;
    Ok(())
}

#[test]
fn backup_of_an_in_memory_database() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = Persistent::open_in_memory()?;
    Note::create_table(&db)?;
    Note::insert_many(&db, &[note("a"), note("b")])?;
    db.backup_to(dir.path().join("copy.db"))?;
    assert_eq!(texts_in(&dir.path().join("copy.db"))?, ["a", "b"]);
    Ok(())
}

/// A progress callback that panics, or a backup asked for inside the
/// connection's own transaction, leaves the connection as it was: no read
/// transaction left open (later writes would join it), no temporary file.
#[test]
fn a_failed_backup_leaves_the_connection_and_the_directory_clean() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("live.db");
    let dest = dir.path().join("copy.db");
    let db = tallied(&path, 20)?;
    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        db.backup_to_with_progress(&dest, 1, |_| panic!("callback gives up"))
    }));
    assert!(panicked.is_err());
    assert!(
        db.with_rusqlite(|c| c.is_autocommit())?,
        "no transaction left open"
    );
    assert!(!dest.exists());
    assert_no_leftovers(dir.path())?;

    let inside = db.transaction(|_tx| db.backup_to(&dest));
    assert!(inside.is_err(), "{inside:?}");
    assert!(!dest.exists());
    assert_no_leftovers(dir.path())?;

    write_batch(&db)?;
    db.backup_to(&dest)?;
    assert_eq!(notes_and_tally(&dest)?, (210, 210));
    Ok(())
}
