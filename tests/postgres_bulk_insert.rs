//! `insert_many` on PostgreSQL: multi-row `INSERT` statements in chunks (1,000
//! rows for a narrow table, fewer for a wide one so that a statement stays
//! within 65,535 parameters), all in one transaction: identity keys given and
//! not given in one batch, a conflict anywhere keeps nothing, the count is exact
//! at the chunk boundaries.
#![cfg(feature = "postgres")]

mod pg_backend_support;

use doctable::postgres::Persistent;
use doctable::{ConstraintKind, DocTable, Error};
use pg_backend_support::schema;

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "items")]
struct Item {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    name: String,
    n: i64,
}

/// Rows per multi-row statement for a three-column table.
const CHUNK: usize = 1_000;

/// `count` rows named `<prefix>-<i>`; every third has an explicit key.
fn items(prefix: &str, count: usize) -> Vec<Item> {
    (0..count)
        .map(|i| Item {
            id: (i % 3 == 0).then(|| 1_000_000 + i as i64),
            name: format!("{prefix}-{i}"),
            n: i as i64,
        })
        .collect()
}

fn stored(db: &Persistent) -> Vec<Item> {
    Item::select().all(db).expect("select")
}

#[test]
fn mixed_explicit_and_null_keys_at_every_chunk_boundary() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    for size in [1, CHUNK - 1, CHUNK, CHUNK + 1, 2 * CHUNK + 7] {
        Item::drop_table(&db).ok();
        Item::create_table(&db).expect("create");
        let rows = items("r", size);
        assert_eq!(Item::insert_many(&db, &rows).expect("insert_many"), size);
        let mut got = stored(&db);
        assert_eq!(got.len(), size, "{size} rows");
        got.sort_by_key(|r| r.n);
        let mut ids = std::collections::HashSet::new();
        for (row, want) in got.iter().zip(&rows) {
            assert_eq!((&row.name, row.n), (&want.name, want.n));
            let id = row.id.expect("every stored row has a key");
            match want.id {
                Some(explicit) => assert_eq!(id, explicit, "explicit key kept"),
                None => assert!(id < 1_000_000, "a None key takes the sequence: {id}"),
            }
            assert!(ids.insert(id), "key {id} given twice");
        }
        // The sequence goes on after the batch: a single insert gets a new key.
        let next = Item::insert(
            &db,
            &Item {
                id: None,
                name: "after".into(),
                n: -1,
            },
        )
        .expect("insert after");
        assert!(!ids.contains(&next), "key {next} reused");
    }
}

#[test]
fn a_conflict_in_any_chunk_keeps_nothing() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Item::create_table(&db).expect("create");
    let existing = Item {
        id: None,
        name: "taken".into(),
        n: 0,
    };
    Item::insert(&db, &existing).expect("insert");
    // In the middle of the first chunk, in the last row of the first chunk,
    // in the second chunk (after a whole chunk went in), in the remainder.
    for at in [CHUNK / 2, CHUNK - 1, CHUNK + 300, 2 * CHUNK + 3] {
        let mut rows = items("c", 2 * CHUNK + 5);
        rows[at].name = "taken".into();
        match Item::insert_many(&db, &rows) {
            Err(Error::Constraint { kind, sql, .. }) => {
                assert_eq!(kind, ConstraintKind::Unique);
                // The error names the statement by its first row, not 1,000 of them.
                assert!(sql.len() < 300, "{} characters of SQL", sql.len());
                assert!(sql.ends_with(" rows in one statement)"), "{sql}");
            }
            other => panic!("conflict at row {at}: {other:?}"),
        }
        assert_eq!(stored(&db).len(), 1, "conflict at row {at} kept rows");
    }
    // A duplicate inside the batch itself is a conflict too.
    let mut rows = items("d", CHUNK + 1);
    rows[CHUNK].name = rows[2].name.clone();
    assert!(Item::insert_many(&db, &rows).is_err());
    assert_eq!(stored(&db).len(), 1);
    // Inside a transaction: the failed batch rolls back to its savepoint only.
    db.transaction(|tx| {
        Item::insert(
            tx,
            &Item {
                id: None,
                name: "in-tx".into(),
                n: 1,
            },
        )?;
        let mut rows = items("t", CHUNK + 1);
        rows[CHUNK].name = "taken".into();
        assert!(Item::insert_many(tx, &rows).is_err());
        assert_eq!(Item::insert_many(tx, &items("ok", CHUNK + 1))?, CHUNK + 1);
        Ok(())
    })
    .expect("transaction");
    assert_eq!(stored(&db).len(), 1 + 1 + CHUNK + 1);
}

#[test]
fn or_ignore_and_or_replace_count_exactly() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Item::create_table(&db).expect("create");
    let first = items("x", CHUNK + 1);
    assert_eq!(Item::insert_many(&db, &first).expect("first"), CHUNK + 1);
    // Old names (ignored) and new ones, a duplicate inside the batch (ignored once).
    let mut batch: Vec<Item> = (0..2 * CHUNK)
        .map(|i| Item {
            id: None,
            name: if i % 2 == 0 {
                format!("x-{i}")
            } else {
                format!("new-{i}")
            },
            n: i as i64,
        })
        .collect();
    batch.push(batch[1].clone());
    // New: every odd `new-i`, and the even `x-i` beyond `first`'s `x-0..=x-CHUNK`.
    let new = (0..2 * CHUNK).filter(|&i| i % 2 == 1 || i > CHUNK).count();
    assert_eq!(
        Item::insert_many_or_ignore(&db, &batch).expect("or_ignore"),
        new
    );
    assert_eq!(stored(&db).len(), CHUNK + 1 + new);
    // Replace by key: every row of `first` with an explicit key, rewritten.
    let replaced: Vec<Item> = first
        .iter()
        .filter(|r| r.id.is_some())
        .map(|r| Item {
            n: -r.n,
            ..r.clone()
        })
        .collect();
    assert_eq!(
        Item::insert_many_or_replace(&db, &replaced).expect("or_replace"),
        replaced.len()
    );
    for row in &replaced {
        let got = Item::get(&db, row.id.expect("key"))
            .expect("get")
            .expect("found");
        assert_eq!(got, *row);
    }
}

/// The `INSERT`s prepared on the connection's session, as (rows per
/// statement, times the server's view lists it).
fn prepared_inserts(db: &Persistent) -> Vec<i64> {
    db.with_pg(|pg| {
        pg.with_client(|c| {
            c.query(
                "SELECT (length(statement) - length(replace(statement, '), (', ''))) / 4 + 1 \
                 FROM pg_prepared_statements WHERE statement LIKE 'INSERT INTO \"items\"%' \
                 ORDER BY 1",
                &[],
            )
            .expect("pg_prepared_statements")
            .iter()
            .map(|r| i64::from(r.get::<_, i32>(0)))
            .collect()
        })
    })
    .expect("client")
}

#[test]
fn one_statement_per_chunk_size_prepared_once() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Item::create_table(&db).expect("create");
    assert_eq!(
        Item::insert_many(&db, &items("a", 2 * CHUNK + 7)).expect("a"),
        2 * CHUNK + 7
    );
    // A full chunk's statement and one remainder of 7 rows.
    assert_eq!(prepared_inserts(&db), vec![7, CHUNK as i64]);
    // More full chunks reuse the cached statement.
    let more: Vec<Item> = items("b", 3 * CHUNK)
        .into_iter()
        .map(|r| Item { id: None, ..r })
        .collect();
    assert_eq!(Item::insert_many(&db, &more).expect("b"), 3 * CHUNK);
    assert_eq!(prepared_inserts(&db), vec![7, CHUNK as i64]);
}
