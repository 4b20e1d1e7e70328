//! Hostile and malformed input: damaged files, files that are not databases,
//! directories that cannot be written or do not exist, tables written by
//! another program with other columns and types, and 10 MiB values.
//!
//! What must hold: a bad file is an `Error::Open` at `open` whose message names
//! the path; damage that only a read can find is an error of that read, never
//! a panic; a foreign value is an `Error::Conversion` or `Error::Json` naming
//! the table and the column, never a panic.
//!
//! The foreign tables and the 10 MiB values run on every strategy of both
//! engines (`on_every_strategy!`, tests/support/backends.rs), each engine's
//! foreign table in its own types: SQLite's untyped and oddly declared
//! columns, PostgreSQL's columns of other types than the struct's. Files,
//! directories and the WAL are SQLite's own.

mod reliability_support;

#[macro_use]
#[path = "support/backends.rs"]
mod backends;
use backends::{Engine, Kind, kind};

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::time::Duration;

use doctable::{Conn, DocTable, Error, Options, PerQuery, Persistent};
use reliability_support::{TestResult, child_command, wait_all};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    year: i64,
    small: u8,
    score: f64,
    flag: bool,
    data: Vec<u8>,
    note: Option<String>,
    #[doctable(json)]
    tags: Vec<String>,
}

fn doc(i: i64) -> Doc {
    Doc {
        id: None,
        title: format!("document {i}"),
        year: 1990 + i % 30,
        small: (i % 200) as u8,
        score: i as f64 / 7.0,
        flag: i % 2 == 0,
        data: vec![(i % 256) as u8; 64],
        note: (i % 3 == 0).then(|| format!("note {i}")),
        tags: vec![format!("t{}", i % 5)],
    }
}

/// A WAL database with `rows` rows, closed cleanly (so the WAL is checkpointed
/// into the file and removed).
fn make_db(path: &Path, rows: i64) -> TestResult {
    let db = Persistent::open(path)?;
    Doc::create_table(&db)?;
    let docs: Vec<Doc> = (0..rows).map(doc).collect();
    Doc::insert_many(&db, &docs)?;
    Ok(())
}

/// Asserts `err` is `Error::Open` for `path`, and its message names the path.
fn assert_open_error(err: &Error, path: &Path, case: &str) {
    match err {
        Error::Open { path: p, .. } => assert_eq!(p, path, "{case}: the error's path"),
        other => panic!("{case}: expected Error::Open, got {other:?}"),
    }
    let message = err.to_string();
    assert!(
        message.contains(&path.display().to_string()),
        "{case}: the message names the path: {message}"
    );
}

fn open_err<T>(result: doctable::Result<T>, case: &str) -> Error {
    match result {
        Ok(_) => panic!("{case}: opened without an error"),
        Err(e) => e,
    }
}

/// Every operation on `db`, for a file that may be damaged: each returns a
/// `Result` (which is all this checks: a panic fails the test). Returns the
/// errors' messages.
fn exercise(db: &impl Conn) -> Vec<String> {
    let mut errors = Vec::new();
    let mut note = |r: doctable::Result<()>| {
        if let Err(e) = r {
            errors.push(e.to_string());
        }
    };
    note(Doc::create_table(db));
    note(Doc::count().get(db).map(drop));
    note(Doc::select().all(db).map(drop));
    note(Doc::select().order_by(Doc::year.desc()).first(db).map(drop));
    note(Doc::get(db, 3).map(drop));
    note(Doc::insert(db, &doc(1_000)).map(drop));
    note(Doc::insert_many(db, &[doc(1_001), doc(1_002)]).map(drop));
    note(
        Doc::update()
            .set(Doc::score, Doc::score + 1.0)
            .filter(Doc::year.gt(2000))
            .run(db)
            .map(drop),
    );
    note(Doc::delete().filter(Doc::small.lt(10)).run(db).map(drop));
    note(Doc::schema_diff(db).map(drop));
    errors
}

// ---------------------------------------------------------------------------
// Damaged files.

#[test]
fn a_damaged_header_is_an_open_error_naming_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.db");
    make_db(&good, 200)?;
    let bytes = fs::read(&good)?;

    // (offset, replacement): the magic string, the page size (3 is not a power
    // of two), the file format versions, the reserved-space / payload fractions.
    let damage: [(&str, usize, &[u8]); 5] = [
        ("magic string", 0, b"SQLite format 4\0"),
        ("page size", 16, &[0, 3]),
        ("format versions", 18, &[9, 9]),
        ("payload fractions", 21, &[0, 0, 0]),
        ("all zeros", 0, &[0; 100]),
    ];
    for (case, at, with) in damage {
        let path = dir.path().join(format!("{}.db", case.replace(' ', "_")));
        let mut damaged = bytes.clone();
        damaged[at..at + with.len()].copy_from_slice(with);
        fs::write(&path, &damaged)?;
        let err = open_err(Persistent::open(&path), case);
        assert_open_error(&err, &path, case);
        let err = open_err(PerQuery::open(&path), case);
        assert_open_error(&err, &path, case);
        let err = open_err(
            Persistent::open_with(&path, &Options::new().read_only(true)),
            case,
        );
        assert_open_error(&err, &path, case);
        // Nothing was written to the file.
        assert_eq!(fs::read(&path)?, damaged, "{case}: the file is unchanged");
    }
    Ok(())
}

#[test]
fn a_truncated_file_is_an_open_error_naming_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.db");
    make_db(&good, 2_000)?;
    let bytes = fs::read(&good)?;
    let page = 4096;
    assert!(bytes.len() > 20 * page, "the database spans many pages");

    // Cut inside the header, inside page 1, at a page boundary, inside a later
    // page, and at half. (An empty file is a valid empty database, and so is
    // the one byte `S` that SQLite itself writes into new files on some
    // filesystems, so 0 and 1 are not here.)
    for keep in [
        2,
        50,
        99,
        100,
        1_000,
        page,
        page + 100,
        3 * page,
        bytes.len() / 2,
        bytes.len() - page,
    ] {
        let case = format!("truncated to {keep} of {} bytes", bytes.len());
        let path = dir.path().join(format!("cut-{keep}.db"));
        fs::write(&path, &bytes[..keep])?;
        let err = open_err(Persistent::open(&path), &case);
        assert_open_error(&err, &path, &case);
        let err = open_err(PerQuery::open(&path), &case);
        assert_open_error(&err, &path, &case);
    }

    // A cut inside the last page leaves the page count as it was, so `open`
    // cannot tell; SQLite reads the missing bytes as zeros. Reads then give the
    // rows as written or an error, never a panic or a wrong row.
    for cut in [1, 100, page - 1] {
        let path = dir.path().join(format!("short-{cut}.db"));
        fs::write(&path, &bytes[..bytes.len() - cut])?;
        let db = match Persistent::open(&path) {
            Ok(db) => db,
            Err(err) => {
                assert_open_error(&err, &path, "short last page");
                continue;
            }
        };
        match Doc::select().order_by(Doc::id).all(&db) {
            Ok(rows) => {
                let want: Vec<Doc> = (0..2_000)
                    .map(|i| Doc {
                        id: Some(i + 1),
                        ..doc(i)
                    })
                    .collect();
                assert!(
                    rows == want,
                    "cut {cut}: the rows read are the rows written"
                );
            }
            Err(err) => assert!(err.to_string().contains("docs"), "{err}"),
        }
        let _ = exercise(&db);
    }
    Ok(())
}

/// Garbage over a page after the first: the header is intact, so `open`
/// succeeds; the damage is found by the first read that touches the page, and
/// that read is an error naming the table, never a panic or a wrong answer.
#[test]
fn a_damaged_page_is_an_error_of_the_read_that_finds_it() -> TestResult {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.db");
    make_db(&good, 2_000)?;
    let bytes = fs::read(&good)?;
    let page = 4096;
    let pages = bytes.len() / page;
    let written: Vec<Doc> = (0..2_000)
        .map(|i| Doc {
            id: Some(i + 1),
            ..doc(i)
        })
        .collect();

    let mut found = 0;
    for (n, target) in [1, 2, pages / 3, pages / 2, pages - 1]
        .into_iter()
        .enumerate()
    {
        let path = dir.path().join(format!("bad-page-{n}.db"));
        let mut damaged = bytes.clone();
        for (i, b) in damaged[target * page..(target + 1) * page]
            .iter_mut()
            .enumerate()
        {
            *b = (i * 151 % 256) as u8 ^ 0x5a;
        }
        fs::write(&path, &damaged)?;
        let db = match Persistent::open(&path) {
            Ok(db) => db,
            Err(err) => {
                // Page 2 may hold the schema's overflow: then open finds it.
                assert_open_error(&err, &path, &format!("page {target}"));
                found += 1;
                continue;
            }
        };
        match Doc::select().order_by(Doc::id).all(&db) {
            Err(err) => {
                found += 1;
                let message = err.to_string();
                assert!(
                    matches!(
                        err,
                        Error::Sqlite { .. } | Error::Conversion { .. } | Error::Json { .. }
                    ),
                    "page {target}: {err:?}"
                );
                assert!(message.contains("`docs`"), "names the table: {message}");
            }
            Ok(rows) => {
                // The page held nothing of the table (a free page, say): then
                // the rows read are the rows written.
                assert!(
                    rows == written,
                    "page {target}: rows differ from those written"
                );
            }
        }
        let errors = exercise(&db);
        eprintln!(
            "page {target} of {pages} damaged: {} operation(s) failed, first: {:?}",
            errors.len(),
            errors.first()
        );
    }
    assert!(found >= 3, "most damaged pages were noticed ({found} of 5)");
    Ok(())
}

#[test]
fn files_that_are_not_databases_are_open_errors_naming_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("text", b"name,year\nTables,2001\n".repeat(300)),
        (
            "binary",
            (0..50_000u32)
                .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
                .collect(),
        ),
        ("one zero byte", vec![0]),
        ("one letter", b"x".to_vec()),
        ("two bytes", b"SQ".to_vec()),
        (
            "magic only",
            b"SQLite format 3\0"
                .iter()
                .copied()
                .chain([0xff; 84])
                .collect(),
        ),
        ("json", br#"{"table": "docs", "rows": []}"#.to_vec()),
    ];
    for (case, contents) in cases {
        let path = dir.path().join(format!("{}.db", case.replace(' ', "_")));
        fs::write(&path, &contents)?;
        assert_open_error(&open_err(Persistent::open(&path), case), &path, case);
        assert_open_error(&open_err(PerQuery::open(&path), case), &path, case);
        assert_eq!(fs::read(&path)?, contents, "{case}: the file is unchanged");
    }
    // The one 1-byte file that is a database: SQLite writes `S` into a new,
    // empty database file on some filesystems and reads it as empty.
    let path = dir.path().join("sqlite-placeholder.db");
    fs::write(&path, b"S")?;
    let db = Persistent::open(&path)?;
    Doc::create_table(&db)?;
    assert_eq!(Doc::count().get(&db)?, 0);
    drop(db);
    // A directory where the file should be.
    let path = dir.path().join("a-directory.db");
    fs::create_dir(&path)?;
    assert_open_error(
        &open_err(Persistent::open(&path), "directory"),
        &path,
        "directory",
    );
    assert_open_error(
        &open_err(PerQuery::open(&path), "directory"),
        &path,
        "directory",
    );
    Ok(())
}

#[test]
fn a_garbage_wal_file_beside_a_good_database_is_ignored_or_refused() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("wal.db");
    make_db(&path, 100)?;
    let mut wal = path.clone().into_os_string();
    wal.push("-wal");
    fs::write(&wal, b"not a write-ahead log ".repeat(500))?;
    // SQLite checks a WAL's header and checksums: a log that is not one adds
    // no frames, so the data is the file's own.
    let db = Persistent::open(&path)?;
    assert_eq!(Doc::count().get(&db)?, 100);
    assert_eq!(
        Doc::get(&db, 1)?,
        Some(Doc {
            id: Some(1),
            ..doc(0)
        })
    );
    assert!(exercise(&db).is_empty());
    Ok(())
}

#[test]
fn a_missing_directory_is_an_open_error_naming_the_path() -> TestResult {
    let dir = tempfile::tempdir()?;
    let path = dir
        .path()
        .join("no")
        .join("such")
        .join("dir")
        .join("docs.db");
    let case = "missing directory";
    assert_open_error(&open_err(Persistent::open(&path), case), &path, case);
    assert_open_error(&open_err(PerQuery::open(&path), case), &path, case);
    let read_only = Options::new().read_only(true);
    assert_open_error(
        &open_err(Persistent::open_with(&path, &read_only), case),
        &path,
        case,
    );
    // A missing file (in a directory that exists) opened read-only: nothing to read.
    let absent = dir.path().join("absent.db");
    assert_open_error(
        &open_err(Persistent::open_with(&absent, &read_only), "absent"),
        &absent,
        "absent",
    );
    assert!(!absent.exists(), "a read-only open created no file");
    assert!(
        !path.parent().is_some_and(Path::exists),
        "no directory was made"
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// A read-only directory. Root may write anywhere, so as root the checks run in
// a child process started as `nobody` (uid 65534); otherwise in this process.

const RO_CHILD_ENV: &str = "DOCTABLE_READ_ONLY_DIR_CHILD";
const RO_TEST: &str = "a_read_only_directory_is_an_open_error_naming_the_path";

#[test]
fn a_read_only_directory_is_an_open_error_naming_the_path() -> TestResult {
    if let Ok(dir) = std::env::var(RO_CHILD_ENV) {
        return read_only_dir_checks(Path::new(&dir));
    }
    let base = tempfile::tempdir()?;
    fs::set_permissions(base.path(), fs::Permissions::from_mode(0o755))?;
    let dir = base.path().join("read-only");
    fs::create_dir(&dir)?;
    make_db(&dir.join("existing.db"), 50)?;
    fs::set_permissions(dir.join("existing.db"), fs::Permissions::from_mode(0o644))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o555))?;

    let probe = base.path().join("owner-probe");
    fs::write(&probe, b"")?;
    let root = fs::metadata(&probe)?.uid() == 0;
    let result = if root {
        let mut cmd = child_command(RO_TEST, &[(RO_CHILD_ENV, dir.display().to_string())])?;
        cmd.uid(65_534).gid(65_534);
        let child = cmd.spawn()?;
        let output = wait_all(vec![child], Duration::from_secs(60))?;
        let output = &output[0];
        let stdout = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        if output.status.success() && stdout.contains("READ-ONLY-DIR-CHECKED") {
            eprintln!("checked as uid 65534:{stdout}");
            Ok(())
        } else {
            Err(format!(
                "the check as uid 65534 failed ({})\nstdout:\n{stdout}\nstderr:\n{stderr}",
                output.status
            )
            .into())
        }
    } else {
        read_only_dir_checks(&dir)
    };
    // Let the temporary directory be removed.
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o755))?;
    result
}

fn read_only_dir_checks(dir: &Path) -> TestResult {
    // The directory really is read-only for this process.
    assert!(
        fs::write(dir.join("probe"), b"").is_err(),
        "{} is writable: the test cannot check anything",
        dir.display()
    );
    // A new database cannot be created there.
    let new = dir.join("new.db");
    assert_open_error(&open_err(Persistent::open(&new), "new"), &new, "new");
    assert_open_error(&open_err(PerQuery::open(&new), "new"), &new, "new");
    assert!(!new.exists());

    // An existing WAL database there can be neither written nor read: SQLite
    // must create its `-wal` and `-shm` files beside it. The open says so.
    let existing = dir.join("existing.db");
    let case = "existing WAL database in a read-only directory";
    assert_open_error(
        &open_err(Persistent::open(&existing), case),
        &existing,
        case,
    );
    assert_open_error(&open_err(PerQuery::open(&existing), case), &existing, case);
    // Read-only, it may open (and read) or be refused at open; never half-way.
    match Persistent::open_with(&existing, &Options::new().read_only(true)) {
        Ok(db) => {
            assert_eq!(Doc::count().get(&db)?, 50);
            println!("\nread-only open: opened and read 50 rows");
        }
        Err(err) => {
            assert_open_error(&err, &existing, "read-only open");
            println!("\nread-only open: {err}");
        }
    }
    println!("\nREAD-ONLY-DIR-CHECKED");
    Ok(())
}

// ---------------------------------------------------------------------------
// A table of the right name written by another program.

on_every_strategy!(
    foreign_values_are_conversion_errors_naming_table_and_column,
    foreign_declared_types_give_errors_naming_each_column,
    a_foreign_table_missing_a_column_is_an_error_naming_it,
    ten_mebibyte_strings_and_blobs_round_trip,
);

/// The other program's table: the same name, an extra column, and columns
/// that take values the struct cannot read: on SQLite no declared types (so
/// SQLite keeps each value as it was given), on PostgreSQL wider types than
/// the struct's, every column nullable. Row 1 holds values every field can read.
fn foreign_table<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    let sql = match kind(db) {
        Kind::Sqlite => {
            "CREATE TABLE docs (
                 id INTEGER PRIMARY KEY, title, year, small, score, flag, data, note, tags, extra
             );
             INSERT INTO docs VALUES (1, 'fine', 2001, 7, 0.5, 1, X'0102', NULL, '[\"a\"]', 1.5);"
        }
        Kind::Postgres => {
            "CREATE TABLE docs (
                 id bigint PRIMARY KEY, title text, year bigint, small bigint,
                 score double precision, flag bigint, data bytea, note text, tags text,
                 extra double precision
             );
             INSERT INTO docs VALUES (1, 'fine', 2001, 7, 0.5, 1, '\\x0102', NULL, '[\"a\"]', 1.5);"
        }
    };
    backends::raw_batch(db, sql)
}

fn fine() -> Doc {
    Doc {
        id: Some(1),
        title: "fine".into(),
        year: 2001,
        small: 7,
        score: 0.5,
        flag: true,
        data: vec![1, 2],
        note: None,
        tags: vec!["a".into()],
    }
}

/// (column, SQL value, what the error must say): one bad value per row, the
/// other columns as in row 1. SQLite's untyped columns take any value.
const BAD_VALUES: &[(&str, &str, &str)] = &[
    ("title", "X'FF00'", "expected TEXT, found BLOB"),
    ("title", "CAST(X'C328' AS TEXT)", "not valid UTF-8"),
    ("title", "NULL", "expected TEXT, found NULL"),
    ("title", "42", "expected TEXT, found INTEGER"),
    ("year", "'nineteen'", "expected INTEGER, found TEXT"),
    ("year", "'2001'", "expected INTEGER, found TEXT"),
    ("year", "1.5", "expected INTEGER, found REAL"),
    ("year", "NULL", "expected INTEGER, found NULL"),
    ("small", "300", "does not fit in u8"),
    ("small", "-1", "does not fit in u8"),
    ("small", "9223372036854775807", "does not fit in u8"),
    ("small", "X'00'", "expected INTEGER, found BLOB"),
    ("score", "'abc'", "expected REAL, found TEXT"),
    ("score", "NULL", "expected REAL, found NULL"),
    ("flag", "2", "bool"),
    ("flag", "-1", "bool"),
    ("flag", "'yes'", "found TEXT"),
    ("data", "'text'", "expected BLOB, found TEXT"),
    ("data", "NULL", "expected BLOB, found NULL"),
    ("note", "5", "expected TEXT, found INTEGER"),
    ("note", "X'41'", "expected TEXT, found BLOB"),
    ("tags", "'{not json'", "invalid JSON"),
    ("tags", "'{\"a\": 1}'", "invalid JSON"),
    ("tags", "'[1, 2]'", "invalid JSON"),
    ("tags", "''", "invalid JSON"),
    ("tags", "X'5B5D'", "found BLOB"),
    ("tags", "NULL", "found NULL"),
    ("tags", "7", "found INTEGER"),
];

/// The same on PostgreSQL: each value fits its column's type, and none fits
/// the struct's field (the column types themselves are the next test's).
const PG_BAD_VALUES: &[(&str, &str, &str)] = &[
    ("title", "NULL", "expected TEXT, found NULL"),
    ("title", "''", ""),
    ("year", "NULL", "expected INTEGER, found NULL"),
    ("small", "300", "does not fit in u8"),
    ("small", "-1", "does not fit in u8"),
    ("small", "9223372036854775807", "does not fit in u8"),
    ("small", "-9223372036854775808", "does not fit in u8"),
    ("score", "NULL", "expected REAL, found NULL"),
    ("flag", "2", "bool"),
    ("flag", "-1", "bool"),
    ("flag", "NULL", "found NULL"),
    ("data", "NULL", "expected BLOB, found NULL"),
    ("tags", "'{not json'", "invalid JSON"),
    ("tags", "'{\"a\": 1}'", "invalid JSON"),
    ("tags", "'[1, 2]'", "invalid JSON"),
    ("tags", "''", "invalid JSON"),
    ("tags", "'[\"a\"'", "invalid JSON"),
    ("tags", "NULL", "found NULL"),
];

fn assert_names_column(err: &Error, column: &str, detail: &str, case: &str) {
    let message = err.to_string();
    match err {
        Error::Conversion {
            table, column: c, ..
        }
        | Error::Json {
            table, column: c, ..
        } => {
            assert_eq!(table, "docs", "{case}: table");
            assert_eq!(c, column, "{case}: column");
        }
        other => panic!("{case}: expected Error::Conversion or Error::Json, got {other:?}"),
    }
    assert!(
        message.contains("`docs`") && message.contains(&format!("`{column}`")),
        "{case}: the message names table and column: {message}"
    );
    assert!(
        message.to_lowercase().contains(&detail.to_lowercase()),
        "{case}: the message says {detail:?}: {message}"
    );
}

fn foreign_values_are_conversion_errors_naming_table_and_column<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    foreign_table(db)?;
    // The good row reads, the extra column ignored.
    assert_eq!(Doc::get(db, 1)?, Some(fine()));
    // `create_table` compares, and refuses rather than changing the table.
    match expect_failure!(db, |c| Doc::create_table(c)) {
        Error::SchemaMismatch { table, .. } => assert_eq!(table, "docs"),
        other => panic!("create_table on a foreign table: {other:?}"),
    }

    let bad = match kind(db) {
        Kind::Sqlite => BAD_VALUES,
        Kind::Postgres => PG_BAD_VALUES,
    };
    for (i, &(column, value, detail)) in bad.iter().enumerate() {
        let id = 100 + i as i64;
        let case = format!("{column} = {value}");
        backends::raw_batch(
            db,
            &format!(
                "INSERT INTO docs SELECT {id}, title, year, small, score, flag, data, note, \
                 tags, extra FROM docs WHERE id = 1; \
                 UPDATE docs SET {column} = {value} WHERE id = {id}"
            ),
        )?;
        if detail.is_empty() {
            // A value the field takes (an empty title): it reads.
            assert!(Doc::get(db, id)?.is_some(), "{case}");
            backends::raw_batch(db, &format!("DELETE FROM docs WHERE id = {id}"))?;
            continue;
        }

        // Every way of reading the row says which table and column.
        let only = Doc::id.eq(id);
        let reads: Vec<(&str, doctable::Result<()>)> = vec![
            ("get", Doc::get(db, id).map(drop)),
            (
                "select all",
                Doc::select().filter(only.clone()).all(db).map(drop),
            ),
            (
                "first",
                Doc::select().filter(only.clone()).first(db).map(drop),
            ),
            (
                "for_each",
                Doc::select().filter(only.clone()).for_each(db, |_| Ok(())),
            ),
            (
                "chunks",
                Doc::select()
                    .filter(only.clone())
                    .chunks(db, 10, |_| Ok(())),
            ),
            (
                "update returning",
                Doc::update()
                    .set(Doc::id, Doc::id)
                    .filter(only.clone())
                    .returning(db)
                    .map(drop),
            ),
        ];
        for (how, result) in reads {
            match result {
                Err(err) => assert_names_column(&err, column, detail, &format!("{case}, {how}")),
                Ok(()) => panic!("{case}, {how}: read a row holding {value} without an error"),
            }
        }
        // The row's other columns, and the other rows, still read.
        assert_eq!(
            Doc::select_cols(Doc::id).filter(only.clone()).all(db)?,
            [Some(id)]
        );
        assert_eq!(Doc::count().filter(only.clone()).get(db)?, 1);
        backends::raw_batch(db, &format!("DELETE FROM docs WHERE id = {id}"))?;
    }
    assert_eq!(Doc::select().all(db)?, [fine()]);
    Ok(())
}

/// Declared types of another program's choosing: on SQLite they convert the
/// values SQLite stores (a `TEXT` column keeps `2001` as the text `'2001'`);
/// on PostgreSQL each column reads as its own type. Each field that no
/// longer reads is an error naming its column, and the others read.
fn foreign_declared_types_give_errors_naming_each_column<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    type Expect = [(&'static str, Option<&'static str>); 8];
    let (sql, first_bad, per_column): (&str, (&str, &str), Expect) = match kind(db) {
        Kind::Sqlite => (
            "CREATE TABLE docs (
                 id INTEGER PRIMARY KEY, title BLOB, year TEXT, small REAL, score TEXT,
                 flag VARCHAR(5), data TEXT, note INTEGER, tags NUMERIC
             );
             INSERT INTO docs VALUES (1, 'fine', 2001, 7, 0.5, 1, X'0102', '12', '[\"a\"]');",
            ("year", "expected INTEGER, found TEXT"),
            [
                ("title", None),
                ("year", Some("expected INTEGER, found TEXT")),
                ("small", Some("expected INTEGER, found REAL")),
                ("score", Some("expected REAL, found TEXT")),
                ("flag", Some("found TEXT")),
                ("data", None),
                ("note", Some("expected TEXT, found INTEGER")),
                ("tags", None),
            ],
        ),
        Kind::Postgres => (
            "CREATE TABLE docs (
                 id bigint PRIMARY KEY, title bytea, year text, small double precision,
                 score text, flag varchar(5), data text, note bigint, tags jsonb
             );
             INSERT INTO docs VALUES (1, 'fine', '2001', 7, '0.5', '1', 'ab', 12, '[\"a\"]');",
            ("title", "expected TEXT, found BLOB"),
            [
                ("title", Some("expected TEXT, found BLOB")),
                ("year", Some("expected INTEGER, found TEXT")),
                ("small", Some("expected INTEGER, found REAL")),
                ("score", Some("expected REAL, found TEXT")),
                ("flag", Some("found TEXT")),
                ("data", Some("expected BLOB, found TEXT")),
                ("note", Some("expected TEXT, found INTEGER")),
                ("tags", None),
            ],
        ),
    };
    backends::raw_batch(db, sql)?;
    // `select()` stops at the first column, in declaration order, that does not read.
    match Doc::select().all(db) {
        Err(err) => assert_names_column(&err, first_bad.0, first_bad.1, "select"),
        Ok(rows) => panic!("read {rows:?}"),
    }
    let results: [doctable::Result<()>; 8] = [
        Doc::select_cols(Doc::title).all(db).map(drop),
        Doc::select_cols(Doc::year).all(db).map(drop),
        Doc::select_cols(Doc::small).all(db).map(drop),
        Doc::select_cols(Doc::score).all(db).map(drop),
        Doc::select_cols(Doc::flag).all(db).map(drop),
        Doc::select_cols(Doc::data).all(db).map(drop),
        Doc::select_cols(Doc::note).all(db).map(drop),
        Doc::select_cols(Doc::tags).all(db).map(drop),
    ];
    for ((column, expected), result) in per_column.into_iter().zip(results) {
        match (result, expected) {
            (Ok(()), None) => {}
            (Err(err), Some(detail)) => assert_names_column(&err, column, detail, column),
            (result, expected) => panic!("{column}: got {result:?}, expected {expected:?}"),
        }
    }
    match expect_failure!(db, |c| Doc::create_table(c)) {
        Error::SchemaMismatch { table, column, .. } => {
            assert_eq!(table, "docs");
            assert!(!column.is_empty());
        }
        other => panic!("create_table: {other:?}"),
    }
    Ok(())
}

fn a_foreign_table_missing_a_column_is_an_error_naming_it<C: Conn<Backend: Engine>>(
    db: &C,
) -> TestResult {
    let sql = match kind(db) {
        Kind::Sqlite => {
            "CREATE TABLE docs (id INTEGER PRIMARY KEY, title TEXT, score REAL);
             INSERT INTO docs VALUES (1, 'x', 0.5);"
        }
        Kind::Postgres => {
            "CREATE TABLE docs (id bigint PRIMARY KEY, title text, score double precision);
             INSERT INTO docs VALUES (1, 'x', 0.5);"
        }
    };
    backends::raw_batch(db, sql)?;
    let err = expect_failure!(db, |c| Doc::select().all(c));
    let message = err.to_string();
    assert!(backends::is_driver_error_on(&err, "docs"), "{err:?}");
    assert!(message.contains("`docs`"), "names the table: {message}");
    assert!(
        message.contains("year"),
        "names the missing column: {message}"
    );
    match expect_failure!(db, |c| Doc::create_table(c)) {
        Error::SchemaMismatch { table, .. } => assert_eq!(table, "docs"),
        other => panic!("create_table: {other:?}"),
    }
    // Selecting only columns that exist works.
    assert_eq!(
        Doc::select_cols((Doc::title, Doc::score)).all(db)?,
        [("x".to_owned(), 0.5)]
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// Large values (tests/values.rs goes to 1 MiB; this is 10 MiB).

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Big {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    data: Vec<u8>,
    maybe_text: Option<String>,
    maybe_data: Option<Vec<u8>>,
}

/// 10 MiB of text (multi-byte characters) and of bytes in one row, through
/// every write and read. SQLite stores NUL characters in text as given;
/// PostgreSQL's text cannot hold them, so there the NUL is refused naming
/// the column (README "PostgreSQL") and the text is the same without it.
fn ten_mebibyte_strings_and_blobs_round_trip<C: Conn<Backend: Engine>>(db: &C) -> TestResult {
    const SIZE: usize = 10 * 1024 * 1024;
    Big::create_table(db)?;
    let unit = match kind(db) {
        Kind::Sqlite => "doctable \u{e9}\u{1f980}\0 ",
        Kind::Postgres => "doctable \u{e9}\u{1f980}\u{1} ",
    };
    // Cut to exactly SIZE bytes on a character boundary.
    let mut text = unit.repeat(SIZE / unit.len() + 1);
    while text.len() > SIZE {
        text.pop();
    }
    while text.len() < SIZE {
        text.push('x');
    }
    let data: Vec<u8> = (0..SIZE).map(|i| (i * 31 % 251) as u8).collect();
    let row = Big {
        id: None,
        text: text.clone(),
        data: data.clone(),
        maybe_text: Some(text.clone()),
        maybe_data: Some(data.clone()),
    };
    if kind(db) == Kind::Postgres {
        let with_nul = Big {
            text: format!("{}\0", &text[..SIZE - 8]),
            ..row.clone()
        };
        let err = expect_failure!(db, |c| Big::insert(c, &with_nul));
        assert!(
            matches!(&err, Error::Conversion { table, column, .. } if table == "big" && column == "text"),
            "{err:?}"
        );
        assert_eq!(Big::count().get(db)?, 0);
    }
    let id = Big::insert(db, &row)?;
    let stored = Big {
        id: Some(id),
        ..row.clone()
    };
    assert!(
        Big::get(db, id)? == Some(stored.clone()),
        "get returns the row"
    );
    let n = Big::insert_many(db, [&row, &row])?;
    assert_eq!(n, 2);
    let (text_bytes, data_bytes) = match kind(db) {
        Kind::Sqlite => (
            "SELECT length(CAST(text AS BLOB)) FROM big",
            "SELECT length(data) FROM big",
        ),
        Kind::Postgres => (
            "SELECT octet_length(text)::bigint FROM big",
            "SELECT octet_length(data)::bigint FROM big",
        ),
    };
    assert_eq!(
        backends::raw_i64s(db, text_bytes)?,
        vec![Some(SIZE as i64); 3]
    );
    assert_eq!(
        backends::raw_i64s(db, data_bytes)?,
        vec![Some(SIZE as i64); 3]
    );
    let all = Big::select().order_by(Big::id).all(db)?;
    assert_eq!(all.len(), 3);
    assert!(all.iter().all(|b| b.text == text && b.data == data));
    assert!(
        all.iter()
            .all(|b| b.maybe_text.as_deref() == Some(text.as_str()))
    );
    assert!(
        all.iter()
            .all(|b| b.maybe_data.as_deref() == Some(data.as_slice()))
    );
    // Filters bind the whole value.
    assert_eq!(Big::count().filter(Big::text.eq(text.as_str())).get(db)?, 3);
    assert_eq!(Big::count().filter(Big::data.eq(&data)).get(db)?, 3);
    Ok(())
}
