//! `insert_many` and its `or_ignore` / `or_replace` forms on SQLite: multi-row
//! `INSERT ... VALUES (..), (..)` statements in chunks that stay within the
//! connection's limit on bound parameters (read from the connection, here
//! lowered with `set_limit` so that wide tables reach it), one cached
//! statement for the full chunks and at most one for the remainder, all in
//! one transaction. Exact counts at every chunk boundary for tables of 1 to
//! 30 columns, all or nothing, the conflict forms unchanged from row by row.

use doctable::rusqlite::limits::Limit;
use doctable::rusqlite::{Connection, StatementStatus};
use doctable::{ConstraintKind, DocTable, Error, Persistent};

/// One column: only the key.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "one")]
struct One {
    #[doctable(primary_key)]
    id: Option<i64>,
}

/// Two columns.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "two")]
struct Two {
    #[doctable(primary_key)]
    id: Option<i64>,
    n: i64,
}

/// Seven columns, a unique one among them.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "seven")]
struct Seven {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    name: String,
    a: i64,
    b: f64,
    c: Option<String>,
    d: bool,
    e: Vec<u8>,
}

/// Thirty columns.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "thirty")]
struct Thirty {
    #[doctable(primary_key)]
    id: Option<i64>,
    c1: i64,
    c2: i64,
    c3: i64,
    c4: i64,
    c5: i64,
    c6: i64,
    c7: i64,
    c8: i64,
    c9: i64,
    c10: i64,
    c11: i64,
    c12: i64,
    c13: i64,
    c14: i64,
    c15: i64,
    c16: i64,
    c17: i64,
    c18: i64,
    c19: i64,
    c20: i64,
    c21: i64,
    c22: i64,
    c23: i64,
    c24: i64,
    c25: i64,
    c26: i64,
    c27: i64,
    c28: i64,
    c29: i64,
}

fn ones(n: usize) -> Vec<One> {
    (0..n).map(|_| One { id: None }).collect()
}
fn twos(n: usize) -> Vec<Two> {
    (0..n)
        .map(|i| Two {
            id: None,
            n: i as i64,
        })
        .collect()
}
fn sevens(prefix: &str, n: usize) -> Vec<Seven> {
    (0..n)
        .map(|i| Seven {
            id: None,
            name: format!("{prefix}-{i}"),
            a: i as i64,
            b: i as f64 / 4.0,
            c: (i % 2 == 0).then(|| format!("c{i}")),
            d: i % 3 == 0,
            e: vec![i as u8; i % 5],
        })
        .collect()
}
fn thirties(n: usize) -> Vec<Thirty> {
    (0..n)
        .map(|i| {
            let v = i as i64;
            Thirty {
                id: None,
                c1: v,
                c2: v * 2,
                c3: v * 3,
                c4: v * 4,
                c5: v * 5,
                c6: v * 6,
                c7: v * 7,
                c8: v * 8,
                c9: v * 9,
                c10: v * 10,
                c11: v * 11,
                c12: v * 12,
                c13: v * 13,
                c14: v * 14,
                c15: v * 15,
                c16: v * 16,
                c17: v * 17,
                c18: v * 18,
                c19: v * 19,
                c20: v * 20,
                c21: v * 21,
                c22: v * 22,
                c23: v * 23,
                c24: v * 24,
                c25: v * 25,
                c26: v * 26,
                c27: v * 27,
                c28: v * 28,
                c29: v * 29,
            }
        })
        .collect()
}

/// The parameter limit the tests set on their connections: low enough that
/// the chunk of every table but the one-column one is set by it (60 / columns
/// rows), not by the 32-row cap.
const PARAMS: i32 = 60;

/// The most rows one statement holds.
const CAP: usize = 32;

fn open(dir: &tempfile::TempDir, name: &str) -> Connection {
    let conn = Connection::open(dir.path().join(name)).expect("open");
    conn.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, PARAMS)
        .expect("set_limit");
    conn
}

/// Rows per statement for a table of `columns` columns under [`PARAMS`].
fn chunk_of(columns: usize) -> usize {
    (PARAMS as usize / columns).clamp(1, CAP)
}

/// The sizes at a chunk's boundaries.
fn boundaries(chunk: usize) -> Vec<usize> {
    let mut sizes = vec![0, 1, 2, 3, chunk - 1, chunk, chunk + 1, 3 * chunk + 1];
    sizes.sort_unstable();
    sizes.dedup();
    sizes
}

/// `INSERT [OR ..] INTO "t" ("a", ..) VALUES (?1, ..), (..)` for `rows`
/// rows: a plain insert of two or more rows is `INSERT OR FAIL` (no
/// statement journal; the crate's transaction undoes a failed batch).
fn multi_sql(prefix: &str, table: &str, columns: &[&str], rows: usize) -> String {
    let prefix = if prefix == "INSERT INTO" && rows > 1 {
        "INSERT OR FAIL INTO"
    } else {
        prefix
    };
    let names: Vec<String> = columns.iter().map(|c| format!("\"{c}\"")).collect();
    let mut sql = format!("{prefix} \"{table}\" ({}) VALUES ", names.join(", "));
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        let params: Vec<String> = (0..columns.len())
            .map(|c| format!("?{}", r * columns.len() + c + 1))
            .collect();
        sql.push_str(&format!("({})", params.join(", ")));
    }
    sql
}

/// How many times the cached statement for `sql` has run.
fn runs(conn: &Connection, sql: &str) -> i32 {
    conn.prepare_cached(sql)
        .expect("cached statement")
        .get_status(StatementStatus::Run)
}

macro_rules! boundary_test {
    ($name:ident, $ty:ident, $make:expr, $columns:expr) => {
        #[test]
        fn $name() {
            let dir = tempfile::tempdir().expect("temp dir");
            let chunk = chunk_of($columns);
            assert_eq!($ty::META.columns.len(), $columns);
            for size in boundaries(chunk) {
                let conn = open(&dir, &format!("{size}.db"));
                $ty::create_table(&conn).expect("create");
                let rows: Vec<$ty> = $make(size);
                assert_eq!(
                    $ty::insert_many(&conn, &rows).expect("insert_many"),
                    size,
                    "{size} rows"
                );
                assert_eq!(
                    $ty::count().get(&conn).expect("count"),
                    size as i64,
                    "{size} rows stored"
                );
                let mut stored = $ty::select().all(&conn).expect("select");
                stored.sort_by_key(|r| r.id);
                // Stored in order, each row's values where they belong.
                for (k, (got, want)) in stored.iter().zip(&rows).enumerate() {
                    let mut want = want.clone();
                    want.id = Some(k as i64 + 1);
                    assert_eq!(got, &want, "row {k} of {size}");
                }
            }
        }
    };
}

boundary_test!(one_column_at_every_boundary, One, ones, 1);
boundary_test!(two_columns_at_every_boundary, Two, twos, 2);
boundary_test!(
    seven_columns_at_every_boundary,
    Seven,
    |n| sevens("r", n),
    7
);
boundary_test!(thirty_columns_at_every_boundary, Thirty, thirties, 30);

#[test]
fn the_chunk_follows_the_connections_parameter_limit() {
    let dir = tempfile::tempdir().expect("temp dir");
    // The bundled SQLite's own limit: 32-row statements (the cap) for a
    // seven-column table.
    let conn = Connection::open(dir.path().join("default.db")).expect("open");
    assert_eq!(
        conn.limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER)
            .expect("limit"),
        32_766
    );
    Seven::create_table(&conn).expect("create");
    assert_eq!(
        Seven::insert_many(&conn, &sevens("d", 100)).expect("insert"),
        100
    );
    let names = ["id", "name", "a", "b", "c", "d", "e"];
    assert_eq!(
        runs(&conn, &multi_sql("INSERT INTO", "seven", &names, CAP)),
        3
    );
    assert_eq!(
        runs(&conn, &multi_sql("INSERT INTO", "seven", &names, 4)),
        1
    );

    // A limit of 20 parameters: two rows of seven columns a statement.
    let low = Connection::open(dir.path().join("low.db")).expect("open");
    low.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 20)
        .expect("set_limit");
    Seven::create_table(&low).expect("create");
    assert_eq!(
        Seven::insert_many(&low, &sevens("l", 9)).expect("insert"),
        9
    );
    assert_eq!(runs(&low, &multi_sql("INSERT INTO", "seven", &names, 2)), 4);
    assert_eq!(runs(&low, Seven::insert_sql()), 1, "the one-row remainder");
    assert_eq!(Seven::count().get(&low).expect("count"), 9);

    // Fewer parameters than one row has columns: one row a statement, which
    // SQLite then refuses, as it refuses the single-row insert.
    let tiny = Connection::open(dir.path().join("tiny.db")).expect("open");
    Seven::create_table(&tiny).expect("create");
    tiny.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 3)
        .expect("set_limit");
    let err = Seven::insert_many(&tiny, &sevens("t", 4)).expect_err("too many parameters");
    assert!(matches!(err, Error::Sqlite { .. }), "{err:?}");
    assert!(
        err.to_string().contains("variable number must be between"),
        "{err}"
    );
    tiny.set_limit(Limit::SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        .expect("set_limit");
    assert_eq!(Seven::count().get(&tiny).expect("count"), 0);
}

#[test]
fn one_statement_per_chunk_size_reused_across_calls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir, "reuse.db");
    Seven::create_table(&conn).expect("create");
    let chunk = chunk_of(7);
    let names = ["id", "name", "a", "b", "c", "d", "e"];
    let full = multi_sql("INSERT INTO", "seven", &names, chunk);
    let rest = multi_sql("INSERT INTO", "seven", &names, 7);
    for call in 0..3 {
        let rows = sevens(&format!("call{call}"), 3 * chunk + 7);
        assert_eq!(
            Seven::insert_many(&conn, &rows).expect("insert_many"),
            rows.len()
        );
    }
    // Three full chunks and one remainder a call, each its one cached statement.
    assert_eq!(runs(&conn, &full), 9);
    assert_eq!(runs(&conn, &rest), 3);
    assert_eq!(
        runs(&conn, Seven::insert_sql()),
        0,
        "no row went one by one"
    );
    // A batch of one row runs the single-row statement, which `insert` shares.
    Seven::insert_many(&conn, &sevens("single", 1)).expect("one row");
    Seven::insert(&conn, &sevens("insert", 1)[0]).expect("insert");
    assert_eq!(runs(&conn, Seven::insert_sql()), 2);
    assert_eq!(
        Seven::count().get(&conn).expect("count"),
        3 * (3 * chunk as i64 + 7) + 2
    );
}

#[test]
fn a_violation_in_the_last_chunk_keeps_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir, "atomic.db");
    Seven::create_table(&conn).expect("create");
    let chunk = chunk_of(7);
    let mut rows = sevens("a", 3 * chunk + 7);
    let last = rows.len() - 1;
    rows[last].name = rows[0].name.clone();
    let err = Seven::insert_many(&conn, &rows).expect_err("duplicate name");
    let Error::Constraint { kind, sql, .. } = &err else {
        panic!("a constraint error: {err:?}");
    };
    assert_eq!(*kind, ConstraintKind::Unique);
    // The error names the statement by its first row and its row count.
    assert!(
        sql.ends_with("(?1, ?2, ?3, ?4, ?5, ?6, ?7), ... (7 rows in one statement)"),
        "{sql}"
    );
    assert_eq!(Seven::count().get(&conn).expect("count"), 0, "nothing kept");

    // Inside a caller's transaction: the batch is a savepoint; what the
    // transaction wrote before it stays.
    let db = Persistent::open(dir.path().join("tx.db")).expect("open");
    Seven::create_table(&db).expect("create");
    let result: doctable::Result<()> = db.transaction(|tx| {
        Seven::insert(tx, &sevens("before", 1)[0])?;
        let err = Seven::insert_many(tx, &rows).expect_err("duplicate name");
        assert!(matches!(err, Error::Constraint { .. }), "{err:?}");
        assert_eq!(Seven::count().get(tx)?, 1);
        Ok(())
    });
    result.expect("transaction");
    assert_eq!(Seven::count().get(&db).expect("count"), 1);
}

/// `rows` with duplicate names: every fifth row takes the name of the row
/// before it, inside one chunk and across a chunk boundary.
fn with_duplicates(prefix: &str, n: usize) -> Vec<Seven> {
    let mut rows = sevens(prefix, n);
    for i in (5..n).step_by(5) {
        rows[i].name = rows[i - 1].name.clone();
    }
    rows
}

#[test]
fn or_ignore_and_or_replace_match_row_by_row() {
    let dir = tempfile::tempdir().expect("temp dir");
    let chunk = chunk_of(7);
    let n = 8 * chunk + 3;
    // Some rows already stored, so conflicts are with old rows too.
    let old = sevens("r", 40);
    for (label, replace) in [("ignore", false), ("replace", true)] {
        let batch = open(&dir, &format!("{label}-batch.db"));
        let single = open(&dir, &format!("{label}-single.db"));
        let rows = with_duplicates("r", n);
        let mut counts = [0, 0];
        for conn in [&batch, &single] {
            Seven::create_table(conn).expect("create");
            Seven::insert_many(conn, &old).expect("old rows");
        }
        counts[0] = if replace {
            Seven::insert_many_or_replace(&batch, &rows)
        } else {
            Seven::insert_many_or_ignore(&batch, &rows)
        }
        .expect("batch");
        for row in &rows {
            counts[1] += if replace {
                Seven::insert_or_replace(&single, row).map(|_| 1)
            } else {
                Seven::insert_or_ignore(&single, row).map(|id| usize::from(id.is_some()))
            }
            .expect("row by row");
        }
        assert_eq!(counts[0], counts[1], "{label}: the same count");
        let old_names: std::collections::HashSet<&str> =
            old.iter().map(|r| r.name.as_str()).collect();
        let new_names: std::collections::HashSet<&str> = rows
            .iter()
            .map(|r| r.name.as_str())
            .filter(|name| !old_names.contains(name))
            .collect();
        let expected = if replace { n } else { new_names.len() };
        assert_eq!(counts[0], expected, "{label}");
        let read = |conn: &Connection| {
            let mut all = Seven::select().all(conn).expect("select");
            all.sort_by(|a, b| a.name.cmp(&b.name));
            all.into_iter()
                .map(|r| (r.name, r.a, r.b, r.c, r.d, r.e))
                .collect::<Vec<_>>()
        };
        let stored = read(&batch);
        assert_eq!(stored, read(&single), "{label}: the same rows");
        // The later row wins a replace, the earlier an ignore.
        let dup = stored.iter().find(|r| r.0 == "r-44").expect("r-44");
        assert_eq!(dup.1, if replace { 45 } else { 44 }, "{label}");
    }
}
