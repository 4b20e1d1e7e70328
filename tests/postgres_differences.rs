//! What means something different on PostgreSQL than on SQLite, each one
//! pinned by a test (README "PostgreSQL", "What differs").
#![cfg(feature = "postgres")]

mod pg_backend_support;

use doctable::postgres::Persistent;
use doctable::{Conn, ConstraintKind, DocTable, Error};
use pg_backend_support::schema;

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Tag {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    name: String,
    weight: f64,
}

fn tag(name: &str) -> Tag {
    Tag {
        id: None,
        name: name.into(),
        weight: 1.0,
    }
}

#[test]
fn like_is_case_sensitive_on_postgres_and_not_on_sqlite() {
    let Some(s) = schema() else { return };
    let pg = Persistent::connect(&s.params).expect("connect");
    let lite = doctable::Persistent::open_in_memory().expect("sqlite");
    Tag::create_table(&pg).expect("create");
    Tag::create_table(&lite).expect("create");
    Tag::insert(&pg, &tag("Rust")).expect("insert");
    Tag::insert(&lite, &tag("Rust")).expect("insert");
    let on_pg = Tag::select()
        .filter(Tag::name.like("rust"))
        .all(&pg)
        .expect("like");
    let on_sqlite = Tag::select()
        .filter(Tag::name.like("rust"))
        .all(&lite)
        .expect("like");
    assert_eq!((on_pg.len(), on_sqlite.len()), (0, 1));
    // The same meaning on both: compare lowered text.
    let lowered = doctable::Expr::raw("lower(\"name\") LIKE ?", ["rust"]);
    assert_eq!(
        Tag::select().filter(lowered).all(&pg).expect("lower").len(),
        1
    );
}

#[test]
fn nan_is_refused_on_write_as_on_sqlite_but_read_when_stored_by_others() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Tag::create_table(&db).expect("create");
    let err = Tag::insert(
        &db,
        &Tag {
            weight: f64::NAN,
            ..tag("nan")
        },
    )
    .unwrap_err();
    assert!(matches!(err, Error::Conversion { .. }), "{err:?}");
    assert_eq!(<Tag as DocTable>::count().get(&db).expect("count"), 0);
    // PostgreSQL itself stores NaN; a row written by another program reads back as NaN.
    let mut client = s.client();
    client
        .batch_execute("INSERT INTO tag (name, weight) VALUES ('other', 'NaN')")
        .expect("raw insert");
    let got = Tag::select().all(&db).expect("select");
    assert!(got[0].weight.is_nan());
}

#[test]
fn an_explicit_key_does_not_advance_the_identity_sequence() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Tag::create_table(&db).expect("create");
    Tag::insert(
        &db,
        &Tag {
            id: Some(1),
            ..tag("explicit")
        },
    )
    .expect("explicit key");
    // The sequence still starts at 1, so the next assigned key collides.
    let err = Tag::insert(&db, &tag("assigned")).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::PrimaryKey,
                ..
            }
        ),
        "{err:?}"
    );
    // Moving the sequence past the explicit keys is the caller's step.
    s.client()
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('tag', 'id'), (SELECT max(id) FROM tag))",
        )
        .expect("setval");
    assert_eq!(Tag::insert(&db, &tag("assigned")).expect("insert"), 2);
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Parent {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    code: String,
    label: String,
}

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Child {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references = "parent(id)", on_delete = "cascade")]
    parent_id: i64,
}

#[test]
fn or_replace_updates_in_place_on_the_key_instead_of_delete_then_insert() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Parent::create_table(&db).expect("parent");
    Child::create_table(&db).expect("child");
    let p = Parent::insert(
        &db,
        &Parent {
            id: None,
            code: "a".into(),
            label: "old".into(),
        },
    )
    .expect("parent");
    Child::insert(
        &db,
        &Child {
            id: None,
            parent_id: p,
        },
    )
    .expect("child");
    let replaced = Parent::insert_or_replace(
        &db,
        &Parent {
            id: Some(p),
            code: "a".into(),
            label: "new".into(),
        },
    )
    .expect("replace");
    assert_eq!(replaced, p);
    assert_eq!(
        Parent::get(&db, p).expect("get").map(|r| r.label),
        Some("new".into())
    );
    // Updated in place: the cascade did not fire (SQLite's delete-then-insert fires it).
    assert_eq!(<Child as DocTable>::count().get(&db).expect("count"), 1);
    // The conflict target is the key: a conflict on another unique column is an error.
    let err = Parent::insert_or_replace(
        &db,
        &Parent {
            id: None,
            code: "a".into(),
            label: "other".into(),
        },
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::Constraint {
                kind: ConstraintKind::Unique,
                ..
            }
        ),
        "{err:?}"
    );
}

/// Whether `err` is the crate's error for a statement on an aborted transaction.
fn is_aborted(err: &Error) -> bool {
    matches!(err, Error::Postgres { code, message, .. }
        if code == "25P02" && message.contains("aborted by an earlier error"))
}

#[test]
fn a_failed_statement_aborts_the_transaction_on_postgres_and_not_on_sqlite() {
    let Some(s) = schema() else { return };
    let pg = Persistent::connect(&s.params).expect("connect");
    let lite = doctable::Persistent::open_in_memory().expect("sqlite");
    Tag::create_table(&pg).expect("create");
    Tag::create_table(&lite).expect("create");
    Tag::insert(&pg, &tag("taken")).expect("insert");
    Tag::insert(&lite, &tag("taken")).expect("insert");

    // SQLite: the statement fails, the transaction goes on and commits.
    lite.transaction(|tx| {
        assert!(Tag::insert(tx, &tag("taken")).is_err());
        Tag::insert(tx, &tag("after"))?;
        Ok(())
    })
    .expect("sqlite transaction");
    assert_eq!(<Tag as DocTable>::count().get(&lite).expect("count"), 2);

    // PostgreSQL: the failure aborts the transaction; every later statement
    // fails with 25P02 in the crate's words, and a closure that swallows the
    // error and returns Ok gets the error from the commit: nothing is kept.
    let result = pg.transaction(|tx| {
        let err = Tag::insert(tx, &tag("taken")).unwrap_err();
        assert!(
            matches!(
                err,
                Error::Constraint {
                    kind: ConstraintKind::Unique,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(tx.connection().transaction_aborted());
        let err = Tag::insert(tx, &tag("after")).unwrap_err();
        assert!(is_aborted(&err), "{err:?}");
        let err = <Tag as DocTable>::count().get(tx).unwrap_err();
        assert!(is_aborted(&err), "{err:?}");
        // A nested transaction cannot start either.
        let err = tx.transaction(|_| Ok(())).unwrap_err();
        assert!(is_aborted(&err), "{err:?}");
        Ok(())
    });
    let err = result.unwrap_err();
    assert!(is_aborted(&err), "{err:?}");
    assert!(err.to_string().contains("COMMIT"), "{err}");
    assert_eq!(<Tag as DocTable>::count().get(&pg).expect("count"), 1);

    // The way to go on after a failure: run the statement that may fail in a
    // nested transaction (a savepoint); its failure rolls back only that.
    pg.transaction(|tx| {
        let err = tx.transaction(|inner| Tag::insert(inner, &tag("taken")));
        assert!(matches!(err, Err(Error::Constraint { .. })), "{err:?}");
        assert!(!tx.connection().transaction_aborted());
        Tag::insert(tx, &tag("after"))?;
        Ok(())
    })
    .expect("pg transaction with a savepoint");
    assert_eq!(<Tag as DocTable>::count().get(&pg).expect("count"), 2);

    // Outside a transaction a failed statement leaves nothing behind.
    assert!(Tag::insert(&pg, &tag("taken")).is_err());
    Tag::insert(&pg, &tag("later")).expect("autocommit goes on");
}

#[test]
fn the_callers_aborted_transaction_is_reported_in_the_crates_words() {
    let Some(s) = schema() else { return };
    let mut client = s.client();
    let mut txn = client.transaction().expect("begin");
    {
        let db = doctable::postgres::External::in_transaction(&mut txn);
        Tag::create_table(&db).expect("create");
        Tag::insert(&db, &tag("taken")).expect("insert");
        assert!(Tag::insert(&db, &tag("taken")).is_err());
        let err = Tag::insert(&db, &tag("other")).unwrap_err();
        assert!(is_aborted(&err), "{err:?}");
    }
    // The caller's own statements on the transaction see the server's 25P02.
    let raw = txn.batch_execute("SELECT 1").unwrap_err();
    assert_eq!(
        raw.code(),
        Some(&doctable::postgres::driver::error::SqlState::IN_FAILED_SQL_TRANSACTION)
    );
    // The caller rolls back and starts again: the crate goes on with it.
    txn.rollback().expect("rollback");
    let mut txn = client.transaction().expect("begin again");
    {
        let db = doctable::postgres::External::in_transaction(&mut txn);
        Tag::create_table(&db).expect("create again");
        Tag::insert(&db, &tag("fresh")).expect("insert after the caller's rollback");
    }
    txn.rollback().expect("rollback");
}

#[test]
fn text_with_nul_is_refused_naming_the_column() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Tag::create_table(&db).expect("create");
    let err = Tag::insert(&db, &tag("a\0b")).unwrap_err();
    assert!(
        matches!(&err, Error::Conversion { table, column, detail, .. }
            if table == "tag" && column == "name" && detail.contains("NUL")),
        "{err:?}"
    );
    let err = Tag::select()
        .filter(Tag::name.eq("\0"))
        .all(&db)
        .unwrap_err();
    assert!(
        matches!(&err, Error::Conversion { table, detail, .. } if table == "tag" && detail.contains("NUL")),
        "{err:?}"
    );
    // SQLite stores it.
    let lite = doctable::Persistent::open_in_memory().expect("sqlite");
    Tag::create_table(&lite).expect("create");
    Tag::insert(&lite, &tag("a\0b")).expect("sqlite takes NUL");
}

/// A key declared after other columns: the statement that leaves it out
/// renumbers the parameters after it.
#[derive(DocTable, Debug, Clone, PartialEq)]
struct Late {
    title: String,
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    code: String,
}

/// The statements the connection's session has prepared, as the server lists them.
fn prepared(db: &Persistent) -> Vec<String> {
    db.with_connection(|c| {
        c.with_client(|client| {
            client
                .query("SELECT statement FROM pg_prepared_statements", &[])
                .expect("pg_prepared_statements")
                .iter()
                .map(|r| r.get::<_, String>(0))
                .collect()
        })
    })
    .expect("with_client")
}

#[test]
fn a_row_without_its_key_is_inserted_without_the_key_column() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Late::create_table(&db).expect("create");
    let late = |title: &str, id: Option<i64>, code: &str| Late {
        title: title.into(),
        id,
        code: code.into(),
    };
    // Absent keys take the identity's values, read back; the columns after
    // the key get their own values.
    assert_eq!(Late::insert(&db, &late("a", None, "x")).expect("insert"), 1);
    assert_eq!(Late::insert(&db, &late("b", None, "y")).expect("insert"), 2);
    // An explicit key goes through the statement with the key column.
    assert_eq!(
        Late::insert(&db, &late("c", Some(10), "z")).expect("insert"),
        10
    );
    // Or-ignore: a new row's key read back, a skipped one is `None`.
    assert_eq!(
        Late::insert_or_ignore(&db, &late("d", None, "w")).expect("or_ignore"),
        Some(3)
    );
    assert_eq!(
        Late::insert_or_ignore(&db, &late("e", None, "x")).expect("or_ignore"),
        None
    );
    let rows = Late::select().order_by(Late::id).all(&db).expect("select");
    assert_eq!(
        rows,
        [
            late("a", Some(1), "x"),
            late("b", Some(2), "y"),
            late("d", Some(3), "w"),
            late("c", Some(10), "z"),
        ]
    );
    // What the server was sent: the keyless statements leave "id" out (no
    // per-row `pg_get_serial_sequence` lookup), the explicit one names it.
    let statements = prepared(&db);
    let inserts: Vec<&String> = statements
        .iter()
        .filter(|s| s.starts_with("INSERT"))
        .collect();
    assert!(
        inserts.iter().any(|s| s.as_str()
            == "INSERT INTO \"late\" (\"title\", \"code\") VALUES ($1, $2) RETURNING \"id\""),
        "{inserts:#?}"
    );
    assert!(
        inserts.iter().any(|s| s.contains("ON CONFLICT DO NOTHING")
            && !s.contains("\"id\", ")
            && !s.contains("nextval")),
        "{inserts:#?}"
    );
    assert!(
        inserts
            .iter()
            .any(|s| s.starts_with("INSERT INTO \"late\" (\"title\", \"id\", \"code\")")),
        "{inserts:#?}"
    );
    assert_eq!(inserts.len(), 3, "{inserts:#?}");
}
