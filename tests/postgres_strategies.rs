//! The PostgreSQL strategies on a real server: Persistent (reconnects after
//! a lost connection), PerQuery, Pool (many threads), External (the caller's
//! client, never committed by the crate); `transaction_retry`; errors with
//! SQLSTATE; no password in any error, `Debug` or `Display`.
#![cfg(feature = "postgres")]

mod pg_backend_support;

use doctable::postgres::{External, PerQuery, Persistent, Pool, driver};
use doctable::{Conn, DocTable, Error};
use pg_backend_support::schema;

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Item {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
    n: i64,
}

fn item(name: &str, n: i64) -> Item {
    Item {
        id: None,
        name: name.into(),
        n,
    }
}

fn count(db: &impl Conn) -> i64 {
    <Item as DocTable>::count().get(db).expect("count")
}

#[test]
fn per_query_and_pool_write_and_read_the_same_table() {
    let Some(s) = schema() else { return };
    let per = PerQuery::connect(&s.params).expect("per query");
    Item::create_table(&per).expect("create");
    let id = Item::insert(&per, &item("a", 1)).expect("insert");
    assert_eq!(Item::get(&per, id).expect("get").map(|i| i.n), Some(1));
    per.transaction(|tx| Item::insert_many(tx, &[item("b", 2), item("c", 3)]))
        .expect("tx");
    let pool = Pool::connect(&s.params, 4).expect("pool");
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || {
                for i in 0..25 {
                    Item::insert(&pool, &item(&format!("t{t}-{i}"), i)).expect("pooled insert");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    assert_eq!(count(&pool), 3 + 8 * 25);
    assert_eq!(count(&per), 3 + 8 * 25);
    assert!(PerQuery::new("host=127.0.0.1 port=1 user=root dbname=test").is_ok());
    let err = PerQuery::connect("host=127.0.0.1 port=1 user=root dbname=test").unwrap_err();
    assert!(
        matches!(&err, Error::Postgres { code, .. } if code == "08001"),
        "{err:?}"
    );
}

#[test]
fn external_uses_the_callers_client_and_never_ends_its_transaction() {
    let Some(s) = schema() else { return };
    let mut client = s.client();
    {
        let ext = External::new(&mut client).expect("borrow");
        Item::create_table(&ext).expect("create");
        Item::insert(&ext, &item("own", 1)).expect("insert");
    }
    let n: i64 = client
        .query_one("SELECT count(*) FROM item", &[])
        .expect("query")
        .get(0);
    assert_eq!(n, 1, "the client is usable again, open, the row committed");

    // The caller's postgres::Transaction.
    let mut txn = client.transaction().expect("begin");
    {
        let ext = External::in_transaction(&mut txn);
        Item::insert_many(&ext, &[item("x", 2), item("y", 3)]).expect("insert many in a savepoint");
        let failed: doctable::Result<()> = ext.transaction(|tx| {
            Item::insert(tx, &item("z", 4))?;
            Err(Error::Usage("undo".into()))
        });
        assert!(failed.is_err());
        assert_eq!(count(&ext), 3, "still inside the caller's transaction");
    }
    let n: i64 = txn
        .query_one("SELECT count(*) FROM item", &[])
        .expect("query")
        .get(0);
    assert_eq!(
        n, 3,
        "the caller's transaction is still open and sees the rows"
    );
    txn.rollback().expect("the caller rolls back");
    let n: i64 = client
        .query_one("SELECT count(*) FROM item", &[])
        .expect("query")
        .get(0);
    assert_eq!(n, 1, "the crate never committed the caller's transaction");

    // A transaction the caller opened with SQL is found by External::new.
    client.batch_execute("BEGIN").expect("begin");
    {
        let ext = External::new(&mut client).expect("borrow");
        ext.transaction(|tx| Item::insert(tx, &item("w", 5)))
            .expect("a savepoint inside the caller's BEGIN");
        assert_eq!(count(&ext), 2);
    }
    client
        .batch_execute("ROLLBACK")
        .expect("the caller rolls back");
    let n: i64 = client
        .query_one("SELECT count(*) FROM item", &[])
        .expect("query")
        .get(0);
    assert_eq!(n, 1, "the crate did not commit the caller's BEGIN");

    // Two Externals in turn on one client: each its own statement cache, and
    // the caller's client between them.
    for round in 0..2 {
        let ext = External::new(&mut client).expect("borrow");
        assert_eq!(count(&ext), 1, "round {round}");
    }
}

#[test]
fn persistent_and_pool_recover_after_the_server_connection_is_lost() {
    let Some(mut s) = schema() else { return };
    let app = format!("victim_{}", s.name);
    let params = format!("{} application_name={app}", s.params);
    let db = Persistent::connect(&params).expect("connect");
    let pool = Pool::connect(&params, 2).expect("pool");
    Item::create_table(&db).expect("create");
    Item::insert(&db, &item("before", 1)).expect("insert");
    Item::insert(&pool, &item("pooled", 1)).expect("insert");
    let kill = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{app}'"
    );
    s.admin().batch_execute(&kill).expect("terminate");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let err = Item::insert(&db, &item("lost", 2)).unwrap_err();
    match &err {
        Error::Postgres { code, .. } => assert!(code == "57P01" || code == "08006", "{err:?}"),
        other => panic!("expected a connection error, got {other:?}"),
    }
    Item::insert(&db, &item("after", 3)).expect("the next call reconnects");
    let pool_err = Item::insert(&pool, &item("lost", 2));
    assert!(pool_err.is_err(), "the pooled connection was killed too");
    Item::insert(&pool, &item("pooled after", 3)).expect("the pool hands out a fresh connection");
    let names: Vec<String> = Item::select_cols(Item::name)
        .order_by(Item::id)
        .all(&db)
        .expect("names");
    assert_eq!(names, ["before", "pooled", "after", "pooled after"]);
}

#[test]
fn transaction_retry_reruns_on_a_serialization_failure() {
    let Some(mut s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Item::create_table(&db).expect("create");
    let name = s.name.clone();
    s.admin()
        .batch_execute(&format!(
            "CREATE SEQUENCE {0}.attempts;
             CREATE FUNCTION {0}.flaky() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('{0}.attempts') < 3 THEN
                 RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER flaky BEFORE INSERT ON {0}.item FOR EACH ROW EXECUTE FUNCTION {0}.flaky();",
            name
        ))
        .expect("trigger");
    let err = db
        .transaction(|tx| Item::insert(tx, &item("once", 1)))
        .unwrap_err();
    match &err {
        Error::Serialization { code, table, .. } => {
            assert_eq!((code.as_str(), table.as_deref()), ("40001", Some("item")))
        }
        other => panic!("expected a serialization failure, got {other:?}"),
    }
    assert!(err.to_string().contains("can be retried"), "{err}");
    let mut calls = 0;
    db.transaction_retry(|tx| {
        calls += 1;
        Item::insert(tx, &item("retried", 2))
    })
    .expect("retried until it worked");
    assert_eq!(calls, 2, "attempt 1 above, 2 here failed; 3 worked");
    assert_eq!(count(&db), 1);
}

#[test]
fn errors_carry_sqlstate_table_and_sql() {
    let Some(s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    let err = Item::select().all(&db).unwrap_err();
    match &err {
        Error::Postgres {
            code, table, sql, ..
        } => {
            assert_eq!(code, "42P01");
            assert_eq!(table.as_deref(), Some("item"));
            assert!(sql.starts_with("SELECT"), "{sql}");
        }
        other => panic!("expected a PostgreSQL error, got {other:?}"),
    }
    assert!(err.to_string().contains("42P01"), "{err}");
    let err = Item::rebuild_table(&db).unwrap_err();
    assert!(
        matches!(&err, Error::Usage(m) if m.contains("ALTER TABLE")),
        "{err}"
    );
}

#[test]
fn no_password_in_errors_debug_or_display() {
    let Some(s) = schema() else { return };
    let secret = "s3cret-Pa55";
    // The test server trusts loopback, so a password is accepted and ignored.
    let with_password = format!("{} password={secret}", s.params);
    let db = Persistent::connect(&with_password).expect("connect");
    let per = PerQuery::connect(&with_password).expect("per query");
    let pool = Pool::connect(&with_password, 2).expect("pool");
    let mut client = driver::Client::connect(&with_password, driver::NoTls).expect("client");
    let ext = External::new(&mut client).expect("borrow");
    let shown = [
        format!("{db:?} {db}"),
        format!("{per:?} {per}"),
        format!("{pool:?} {pool}"),
        format!("{ext:?} {ext}"),
    ];
    for text in &shown {
        assert!(!text.contains(secret), "{text}");
    }
    assert!(shown[0].contains("password=<redacted>"), "{}", shown[0]);
    let url = format!("postgres://root:{secret}@127.0.0.1:1/test");
    for params in [
        format!("host=127.0.0.1 port=1 user=root password={secret} dbname=test"),
        format!("host=127.0.0.1 port=1 user=root password='{secret} x' dbname=test"),
        url.clone(),
        format!("host=127.0.0.1 port=notaport password={secret}"),
        format!("postgres://root:{secret}@127.0.0.1:notaport/test"),
    ] {
        let errors = [
            Persistent::connect(&params).unwrap_err(),
            PerQuery::connect(&params).unwrap_err(),
            Pool::connect(&params, 1).unwrap_err(),
        ];
        for err in errors {
            let text = format!("{err} {err:?}");
            assert!(!text.contains(secret), "{text}");
        }
    }
}
