//! `#[doctable(file)]` columns on every backend: round trips (empty, 1 byte,
//! 100 MiB), NULL, json values, deduplication, transparent reads (get, all,
//! for_each, chunks, joins, select_cols), `select_cols` of other columns not
//! touching the files, missing and corrupt files, `clean_files` after delete
//! and update, and with a concurrent inserting process.

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use std::collections::BTreeSet;
use std::path::Path;

use backends::TestResult;
use doctable::{Conn, DocTable, Error};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs")]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    #[doctable(file)]
    body: Vec<u8>,
    #[doctable(file)]
    text: Option<String>,
    #[doctable(file, json)]
    tags: Vec<String>,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "notes")]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    doc_id: i64,
    #[doctable(file)]
    body: String,
}

fn doc(title: &str, body: Vec<u8>) -> Doc {
    Doc {
        id: None,
        title: title.into(),
        body,
        text: None,
        tags: vec![title.to_owned()],
    }
}

/// The value files in `<folder>/docs` (not the lock file).
fn files_in(folder: &Path, table: &str) -> BTreeSet<String> {
    std::fs::read_dir(folder.join(table))
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Runs `body(db, files folder)` on SQLite (the default folder beside the
/// file, and one set in `Options` with `PerQuery`) and on PostgreSQL (the
/// folder set on the strategy).
macro_rules! on_file_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            use super::*;

            #[test]
            fn sqlite_persistent() -> TestResult {
                let dir = tempfile::tempdir()?;
                let db = doctable::Persistent::open(dir.path().join("test.db"))?;
                super::$name(&db, &dir.path().join("test.db-files"))
            }

            #[test]
            fn sqlite_per_query() -> TestResult {
                let dir = tempfile::tempdir()?;
                let files = dir.path().join("elsewhere");
                let options = doctable::Options::new().files_folder(&files);
                let db = doctable::PerQuery::open_with(dir.path().join("test.db"), &options)?;
                super::$name(&db, &files)
            }

            #[cfg(feature = "postgres")]
            #[test]
            fn pg_persistent() -> TestResult {
                backends::with_pg_schema(|schema| {
                    let dir = tempfile::tempdir()?;
                    let db = doctable::postgres::Persistent::connect(&schema.params)?
                        .with_files_folder(dir.path());
                    super::$name(&db, dir.path())
                })
            }

            #[cfg(feature = "postgres")]
            #[test]
            fn pg_pool() -> TestResult {
                backends::with_pg_schema(|schema| {
                    let dir = tempfile::tempdir()?;
                    let db = doctable::postgres::Pool::connect(&schema.params, 2)?
                        .with_files_folder(dir.path());
                    super::$name(&db, dir.path())
                })
            }
        }
    )*};
}

on_file_backends!(
    round_trips_small_values_and_null,
    equal_values_share_one_file,
    reads_are_transparent_everywhere,
    select_cols_of_other_columns_reads_no_file,
    missing_and_corrupt_files_are_errors_naming_row_and_hash,
    clean_files_after_delete_and_update,
    writes_in_a_rolled_back_transaction_are_cleaned,
);

fn round_trips_small_values_and_null<C: Conn>(db: &C, folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    for body in [vec![], vec![7u8]] {
        let mut d = doc("small", body.clone());
        d.text = Some(String::new());
        let id = Doc::insert(db, &d)?;
        let back = Doc::get(db, id)?.ok_or("row gone")?;
        assert_eq!(back, Doc { id: Some(id), ..d });
    }
    let with_null = doc("null", b"x".to_vec());
    let id = Doc::insert(db, &with_null)?;
    assert_eq!(Doc::get(db, id)?.ok_or("row gone")?.text, None);
    // The column holds the SHA-256, and the file is named by it.
    let hash = sha256_hex(&[7]);
    assert!(folder.join("docs").join(&hash).is_file());
    assert_eq!(Doc::count().filter(Doc::text.is_null()).get(db)?, 1);
    Ok(())
}

fn round_trips_100_mib<C: Conn>(db: &C, folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    let big: Vec<u8> = (0..100u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let id = Doc::insert(db, &doc("big", big.clone()))?;
    let back = Doc::get(db, id)?.ok_or("row gone")?;
    assert!(
        back.body == big,
        "the 100 MiB value did not read back equal"
    );
    let path = folder.join("docs").join(sha256_hex(&big));
    assert_eq!(std::fs::metadata(path)?.len(), 100 << 20);
    Ok(())
}

fn equal_values_share_one_file<C: Conn>(db: &C, folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    Doc::insert_many(
        db,
        &[doc("a", b"same".to_vec()), doc("b", b"same".to_vec())],
    )?;
    Doc::insert(db, &doc("c", b"other".to_vec()))?;
    // bodies "same" x2, "other"; tags ["a"], ["b"], ["c"]: 5 distinct values.
    let files = files_in(folder, "docs");
    assert_eq!(files.len(), 5, "{files:?}");
    assert!(files.contains(&sha256_hex(b"same")));
    assert!(files.contains(&sha256_hex(br#"["a"]"#)));
    Ok(())
}

fn reads_are_transparent_everywhere<C: Conn>(db: &C, _folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    Note::create_table(db)?;
    let docs: Vec<Doc> = (0..5).map(|i| doc(&format!("d{i}"), vec![i; 3])).collect();
    Doc::insert_many(db, &docs)?;
    let all = Doc::select().order_by(Doc::id.asc()).all(db)?;
    assert_eq!(
        all.iter().map(|d| d.body.clone()).collect::<Vec<_>>(),
        docs.iter().map(|d| d.body.clone()).collect::<Vec<_>>()
    );
    let first = all[0].id.ok_or("no id")?;
    Note::insert(
        db,
        &Note {
            id: None,
            doc_id: first,
            body: "a note".into(),
        },
    )?;
    let mut seen = 0;
    Doc::select().for_each(db, |d| {
        assert_eq!(d.tags, vec![d.title.clone()]);
        seen += 1;
        Ok(())
    })?;
    assert_eq!(seen, 5);
    let mut chunked = 0;
    Doc::select().chunks(db, 2, |c| {
        chunked += c.len();
        Ok(())
    })?;
    assert_eq!(chunked, 5);
    let joined: Vec<(Doc, Note)> = Doc::select().join(Doc::id, Note::doc_id).all(db)?;
    assert_eq!(joined.len(), 1);
    assert_eq!(
        (joined[0].0.body.as_slice(), joined[0].1.body.as_str()),
        (&[0u8, 0, 0][..], "a note")
    );
    let bodies: Vec<(String, Vec<u8>)> = Doc::select_cols((Doc::title, Doc::body))
        .order_by(Doc::id.asc())
        .all(db)?;
    assert_eq!(bodies[4], ("d4".to_owned(), vec![4, 4, 4]));
    let raw = Doc::select_sql("ORDER BY \"id\"", (), db)?;
    assert_eq!(raw[2].body, vec![2, 2, 2]);
    let first_row = Doc::select()
        .order_by(Doc::id.asc())
        .first(db)?
        .ok_or("no row")?;
    assert_eq!(first_row.body, vec![0, 0, 0]);
    let tags: Vec<Vec<String>> = Doc::select_cols(Doc::tags)
        .order_by(Doc::id.asc())
        .all(db)?;
    assert_eq!(tags[1], vec!["d1".to_owned()]);
    // update_row and upsert write the new value's file too.
    let mut changed = all[1].clone();
    changed.body = b"changed".to_vec();
    Doc::update_row(db, &changed)?;
    assert_eq!(
        Doc::get(db, changed.id.ok_or("no id")?)?
            .ok_or("gone")?
            .body,
        b"changed"
    );
    Ok(())
}

fn select_cols_of_other_columns_reads_no_file<C: Conn>(db: &C, folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    Doc::insert(db, &doc("kept", b"body".to_vec()))?;
    // With every file gone, the other columns still read.
    std::fs::remove_dir_all(folder.join("docs"))?;
    let titles: Vec<String> = Doc::select_cols(Doc::title).all(db)?;
    assert_eq!(titles, ["kept"]);
    let (ids, n): (Vec<Option<i64>>, i64) =
        (Doc::select_cols(Doc::id).all(db)?, Doc::count().get(db)?);
    assert_eq!((ids.len(), n), (1, 1));
    Ok(())
}

fn missing_and_corrupt_files_are_errors_naming_row_and_hash<C: Conn>(
    db: &C,
    folder: &Path,
) -> TestResult {
    Doc::create_table(db)?;
    let id = Doc::insert(db, &doc("x", b"will go missing".to_vec()))?;
    let hash = sha256_hex(b"will go missing");
    let path = folder.join("docs").join(&hash);
    std::fs::remove_file(&path)?;
    let err = Doc::get(db, id).expect_err("a missing file must be an error");
    match &err {
        Error::File {
            table,
            column,
            row,
            hash: h,
            detail,
        } => {
            assert_eq!(
                (table.as_str(), column.as_str(), h.as_str()),
                ("docs", "body", hash.as_str())
            );
            assert_eq!(row.as_deref(), Some(id.to_string().as_str()));
            assert!(detail.contains("missing"), "{detail}");
        }
        other => panic!("expected Error::File, got {other:?}"),
    }
    let text = err.to_string();
    assert!(text.contains("docs") && text.contains(&hash), "{text}");
    std::fs::write(&path, b"something else")?;
    let err = Doc::select()
        .all(db)
        .expect_err("a corrupt file must be an error");
    assert!(
        matches!(&err, Error::File { detail, .. } if detail.contains("corrupt")),
        "{err}"
    );
    // Writing the value again repairs the file (it is verified, not trusted).
    Doc::insert(db, &doc("y", b"will go missing".to_vec()))?;
    assert_eq!(std::fs::read(&path)?, b"will go missing");
    assert_eq!(Doc::get(db, id)?.ok_or("gone")?.body, b"will go missing");
    Ok(())
}

fn clean_files_after_delete_and_update<C: Conn>(db: &C, folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    Note::create_table(db)?;
    let a = Doc::insert(db, &doc("a", b"aaaa".to_vec()))?;
    let b = Doc::insert(db, &doc("b", b"bbbb".to_vec()))?;
    Note::insert(
        db,
        &Note {
            id: None,
            doc_id: a,
            body: "aaaa".into(),
        },
    )?;
    assert_eq!(Doc::clean_files(db)?, doctable::CleanReport::default());
    Doc::delete_key(db, a)?;
    let report = Doc::clean_files(db)?;
    // The body "aaaa" and the tags ["a"] are unreferenced now.
    assert_eq!(report.removed.len(), 2, "{report:?}");
    assert_eq!(report.bytes_freed, 4 + br#"["a"]"#.len() as u64);
    assert!(report.missing.is_empty());
    // The other table's equal value keeps its own file.
    assert_eq!(files_in(folder, "notes").len(), 1);
    let mut row = Doc::get(db, b)?.ok_or("gone")?;
    row.body = b"new body".to_vec();
    Doc::update_row(db, &row)?;
    let report = Doc::clean_files(db)?;
    assert_eq!(
        report.removed,
        vec![folder.join("docs").join(sha256_hex(b"bbbb"))]
    );
    let expected: BTreeSet<String> = [sha256_hex(b"new body"), sha256_hex(br#"["b"]"#)].into();
    assert_eq!(files_in(folder, "docs"), expected);
    // A row whose file is gone is reported, not "cleaned".
    std::fs::remove_file(folder.join("docs").join(sha256_hex(b"new body")))?;
    let report = Doc::clean_files(db)?;
    assert_eq!(report.missing.len(), 1);
    assert_eq!(report.missing[0].column, "body");
    assert_eq!(
        report.missing[0].row.as_deref(),
        Some(b.to_string().as_str())
    );
    Ok(())
}

fn writes_in_a_rolled_back_transaction_are_cleaned<C: Conn>(db: &C, folder: &Path) -> TestResult {
    Doc::create_table(db)?;
    let result: doctable::Result<()> = db.atomic(|tx| {
        Doc::insert(tx, &doc("gone", b"rolled back".to_vec()))?;
        // Inside the transaction, clean_files refuses rather than waiting for itself.
        assert!(matches!(Doc::clean_files(tx), Err(Error::Usage(_))));
        Err(Error::Usage("roll back".into()))
    });
    assert!(result.is_err());
    assert_eq!(files_in(folder, "docs").len(), 2);
    let report = Doc::clean_files(db)?;
    assert_eq!(report.removed.len(), 2);
    assert!(files_in(folder, "docs").is_empty());
    Ok(())
}

/// The 100 MiB round trip, once per engine (it is the slow one).
#[test]
fn round_trips_100_mib_sqlite() -> TestResult {
    let dir = tempfile::tempdir()?;
    let db = doctable::Persistent::open(dir.path().join("test.db"))?;
    round_trips_100_mib(&db, &dir.path().join("test.db-files"))
}

#[cfg(feature = "postgres")]
#[test]
fn round_trips_100_mib_postgres() -> TestResult {
    backends::with_pg_schema(|schema| {
        let dir = tempfile::tempdir()?;
        let db =
            doctable::postgres::Persistent::connect(&schema.params)?.with_files_folder(dir.path());
        round_trips_100_mib(&db, dir.path())
    })
}

#[test]
fn an_in_memory_database_needs_a_files_folder() -> TestResult {
    let db = doctable::Persistent::open_in_memory()?;
    Doc::create_table(&db)?;
    let err = Doc::insert(&db, &doc("x", vec![1])).expect_err("no folder for files");
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("files_folder")),
        "{err}"
    );
    // Other tables are not affected.
    Ok(())
}

#[cfg(feature = "postgres")]
#[test]
fn postgres_needs_a_files_folder() -> TestResult {
    backends::with_pg_schema(|schema| {
        let db = doctable::postgres::Persistent::connect(&schema.params)?;
        Doc::create_table(&db)?;
        let err = Doc::insert(&db, &doc("x", vec![1])).expect_err("no folder for files");
        assert!(
            matches!(&err, Error::Usage(m) if m.contains("with_files_folder")),
            "{err}"
        );
        Ok(())
    })
}

// ---------------------------------------------------------------------------
// clean_files while another process inserts.

const CHILD_ENV: &str = "DOCTABLE_FILES_CHILD";

/// The child: inserts rows with a fresh value each, each in a transaction
/// that waits a moment between the file write and the commit, until killed
/// or `n` rows are in.
fn insert_child(db_path: &Path, n: usize) -> TestResult {
    let db = doctable::Persistent::open(db_path)?;
    for i in 0..n {
        db.transaction(|tx| {
            Doc::insert(
                tx,
                &doc(&format!("child {i}"), format!("value {i}").into_bytes()),
            )?;
            std::thread::sleep(std::time::Duration::from_millis(2));
            Ok(())
        })?;
    }
    Ok(())
}

#[test]
fn clean_files_while_another_process_inserts() -> TestResult {
    if let Ok(spec) = std::env::var(CHILD_ENV) {
        return insert_child(Path::new(&spec), 200);
    }
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("test.db");
    let db = doctable::Persistent::open(&path)?;
    Doc::create_table(&db)?;
    let mut child = std::process::Command::new(std::env::current_exe()?)
        .args([
            "--exact",
            "clean_files_while_another_process_inserts",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, &path)
        .stdout(std::process::Stdio::null())
        .spawn()?;
    let mut cleans = 0;
    while child.try_wait()?.is_none() {
        Doc::clean_files(&db)?;
        cleans += 1;
        // Every committed row's files are there, whenever we look.
        for d in Doc::select().all(&db)? {
            assert_eq!(d.body, format!("value {}", &d.title[6..]).into_bytes());
        }
    }
    assert!(child.wait()?.success(), "the inserting child failed");
    assert!(
        cleans > 1,
        "clean_files ran only {cleans} time(s) beside the child"
    );
    let report = Doc::clean_files(&db)?;
    assert!(
        report.missing.is_empty() && report.removed.is_empty(),
        "{report:?}"
    );
    assert_eq!(Doc::count().get(&db)?, 200);
    assert_eq!(
        files_in(&dir.path().join("test.db-files"), "docs").len(),
        400
    );
    Ok(())
}

// ---------------------------------------------------------------------------
// SIGKILL: a child inserting and deleting file rows, killed at random moments.

const KILL_ENV: &str = "DOCTABLE_FILES_KILL_CHILD";
const KILLS: usize = 20;

/// The child: inserts (single rows and batches) and deletes, forever.
fn kill_child(db_path: &Path) -> TestResult {
    let db = doctable::Persistent::open(db_path)?;
    let mut i: u64 = 0;
    loop {
        i += 1;
        let value = format!("value {i} {}", std::process::id())
            .repeat(200)
            .into_bytes();
        Doc::insert(&db, &doc(&format!("{i}"), value.clone()))?;
        let batch: Vec<Doc> = (0..5)
            .map(|k| doc(&format!("{i}.{k}"), [value.as_slice(), &[k]].concat()))
            .collect();
        Doc::insert_many(&db, &batch)?;
        if i.is_multiple_of(3) {
            Doc::delete()
                .filter(Doc::id.lt(i64::try_from(i)? * 2))
                .run(&db)?;
        }
    }
}

#[test]
fn sigkill_leaves_no_row_without_its_file() -> TestResult {
    if let Ok(path) = std::env::var(KILL_ENV) {
        return kill_child(Path::new(&path));
    }
    use std::os::unix::process::ExitStatusExt;
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("test.db");
    let folder = dir.path().join("test.db-files");
    let db = doctable::Persistent::open(&path)?;
    Doc::create_table(&db)?;
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_nanos() as u64;
    println!("seed {seed}");
    let mut rng = seed | 1;
    for _ in 0..KILLS {
        let mut child = std::process::Command::new(std::env::current_exe()?)
            .args([
                "--exact",
                "sigkill_leaves_no_row_without_its_file",
                "--test-threads=1",
            ])
            .env(KILL_ENV, &path)
            .stdout(std::process::Stdio::null())
            .spawn()?;
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::thread::sleep(std::time::Duration::from_millis(20 + rng % 130));
        child.kill()?;
        let status = child.wait()?;
        assert_eq!(
            status.signal(),
            Some(9),
            "the child ended by itself: {status:?}"
        );
        // Every committed row reads back whole (the hash is verified on read).
        let rows = Doc::select().all(&db)?;
        for d in &rows {
            assert!(d.body.starts_with(
                format!("value {}", d.title.split('.').next().unwrap_or("")).as_bytes()
            ));
        }
    }
    let report = Doc::clean_files(&db)?;
    assert!(report.missing.is_empty(), "{report:?}");
    // The folder holds exactly the files the rows name.
    let mut referenced = BTreeSet::new();
    for d in Doc::select().all(&db)? {
        referenced.insert(sha256_hex(&d.body));
        referenced.insert(sha256_hex(serde_json::to_string(&d.tags)?.as_bytes()));
    }
    let leftovers: Vec<_> = std::fs::read_dir(folder.join("docs"))?
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
    assert_eq!(files_in(&folder, "docs"), referenced);
    Ok(())
}
