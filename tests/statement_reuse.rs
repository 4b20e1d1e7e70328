//! Pins the optimisations that keep doctable at the speed of hand-written
//! rusqlite, by reading SQLite's own counters on the cached statements.

use doctable::rusqlite::{Connection, StatementStatus};
use doctable::{DocTable, Persistent};

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    year: i64,
}

fn docs(n: usize) -> Vec<Doc> {
    (0..n)
        .map(|i| Doc {
            id: None,
            title: format!("doc {i}"),
            year: 1990 + (i % 30) as i64,
        })
        .collect()
}

fn open(dir: &tempfile::TempDir) -> Connection {
    Connection::open(dir.path().join("reuse.db")).expect("open")
}

/// How many times the cached statement for `sql` has been run (step..reset).
fn runs(conn: &Connection, sql: &str) -> i32 {
    conn.prepare_cached(sql)
        .expect("cached statement")
        .get_status(StatementStatus::Run)
}

/// `INSERT [OR FAIL] INTO "doc" ("id", "title", "year") VALUES (?1, ?2, ?3), ...` for `rows` rows.
fn multi_row_insert(rows: usize) -> String {
    let values: Vec<String> = (0..rows)
        .map(|r| format!("(?{}, ?{}, ?{})", 3 * r + 1, 3 * r + 2, 3 * r + 3))
        .collect();
    // Two rows or more: `OR FAIL`, which needs no statement journal (the
    // crate's transaction undoes a failed batch).
    let prefix = if rows > 1 {
        "INSERT OR FAIL INTO"
    } else {
        "INSERT INTO"
    };
    format!(
        r#"{prefix} "doc" ("id", "title", "year") VALUES {}"#,
        values.join(", ")
    )
}

#[test]
fn insert_many_prepares_one_statement_per_chunk_size() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir);
    Doc::create_table(&conn).expect("create");
    assert_eq!(
        Doc::insert_many(&conn, &docs(10_000)).expect("insert_many"),
        10_000
    );
    // 32-row statements: one statement object ran 312 times (prepared once
    // and reused), the 16-row remainder once, the single-row one never.
    assert_eq!(runs(&conn, &multi_row_insert(32)), 312);
    assert_eq!(runs(&conn, &multi_row_insert(16)), 1);
    assert_eq!(runs(&conn, Doc::insert_sql()), 0);
    // A second batch reuses both.
    Doc::insert_many(&conn, &docs(80)).expect("insert_many");
    assert_eq!(runs(&conn, &multi_row_insert(32)), 314);
    assert_eq!(runs(&conn, &multi_row_insert(16)), 2);
    // The one-row text is `insert`'s: a batch of one or two rows, and
    // `insert`, share that statement.
    assert_eq!(multi_row_insert(1), Doc::insert_sql());
    Doc::insert_many(&conn, &docs(2)).expect("insert_many");
    Doc::insert(&conn, &docs(1)[0]).expect("insert");
    assert_eq!(
        runs(&conn, Doc::insert_sql()),
        3,
        "insert shares the statement"
    );
}

#[test]
fn a_query_shape_reuses_its_statement_whatever_the_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir);
    Doc::create_table(&conn).expect("create");
    Doc::insert_many(&conn, &docs(100)).expect("insert_many");
    let query = |year: i64| {
        Doc::select()
            .filter(Doc::year.gt(year).and(Doc::title.ne("x")))
            .order_by(Doc::year.desc())
            .limit(5)
    };
    // Values are bound parameters, so every call has the same SQL text.
    assert_eq!(query(1995).sql(), query(2010).sql());
    let first = query(1995).all(&conn).expect("first run");
    let second = query(2010).all(&conn).expect("second run");
    assert_eq!(first.len(), 5);
    assert!(second.iter().all(|d| d.year > 2010));
    assert_eq!(
        runs(&conn, &query(0).sql()),
        2,
        "one cached statement served both calls"
    );
}

#[test]
fn get_reuses_one_statement() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("get.db")).expect("open");
    Doc::create_table(&db).expect("create");
    Doc::insert_many(&db, &docs(50)).expect("insert_many");
    for id in 1..=50 {
        assert_eq!(
            Doc::get(&db, id).expect("get").map(|d| d.id),
            Some(Some(id))
        );
    }
    let get_sql = r#"SELECT "id", "title", "year" FROM "doc" WHERE "id" = ?1"#;
    let count = db.with_rusqlite(|c| runs(c, get_sql)).expect("connection");
    assert_eq!(count, 50);
}

#[test]
fn an_option_i64_key_is_the_rowid_and_autoincrement_only_when_asked() {
    #[derive(DocTable)]
    struct Counted {
        #[doctable(primary_key, autoincrement)]
        id: Option<i64>,
        n: i64,
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir);
    Doc::create_table(&conn).expect("create");
    Counted::create_table(&conn).expect("create");
    let ddl = |table: &str| -> String {
        conn.query_row(
            "SELECT sql FROM sqlite_master WHERE name = ?1",
            [table],
            |r| r.get(0),
        )
        .expect("ddl")
    };
    assert!(
        ddl("doc").contains(r#""id" INTEGER PRIMARY KEY,"#),
        "{}",
        ddl("doc")
    );
    assert!(!ddl("doc").contains("AUTOINCREMENT"));
    assert!(
        ddl("counted").contains("INTEGER PRIMARY KEY AUTOINCREMENT"),
        "{}",
        ddl("counted")
    );
    // AUTOINCREMENT never reuses an id, even after the highest row is deleted.
    let a = Counted::insert(&conn, &Counted { id: None, n: 1 }).expect("insert");
    Counted::delete()
        .filter(Counted::id.eq(a))
        .run(&conn)
        .expect("delete");
    let b = Counted::insert(&conn, &Counted { id: None, n: 2 }).expect("insert");
    assert!(b > a);
}

#[test]
fn the_error_type_stays_small() {
    // Every `doctable::Result` carries an `Error`: the rusqlite sources are
    // boxed so that returning one costs no more than clippy's `result_large_err`
    // limit (128 bytes) allows.
    assert!(
        std::mem::size_of::<doctable::Error>() <= 128,
        "{}",
        std::mem::size_of::<doctable::Error>()
    );
}

#[test]
fn a_limited_query_is_never_reprepared_when_its_values_change() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conn = open(&dir);
    Doc::create_table(&conn).expect("create");
    Doc::insert_many(&conn, &docs(200)).expect("insert_many");
    let query = |year: i64| {
        Doc::select()
            .filter(Doc::year.gt(year))
            .order_by(Doc::year)
            .limit(10)
            .offset(2)
    };
    for year in 1990..2010 {
        assert!(query(year).all(&conn).expect("query").len() <= 10);
    }
    // A bound LIMIT would be re-prepared at every step after a new binding
    // (SQLite's planner reads its value); as a literal it never is.
    let stmt = conn
        .prepare_cached(&query(0).sql())
        .expect("cached statement");
    assert_eq!(stmt.get_status(StatementStatus::Run), 20);
    assert_eq!(stmt.get_status(StatementStatus::RePrepare), 0);
}
