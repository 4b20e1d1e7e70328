//! The same struct on PostgreSQL: connect, create, insert, query, a
//! transaction, the pool from several threads, an external client.
//!
//! `cargo run --example postgres --features postgres`; the server is
//! `DOCTABLE_PG` (default `host=127.0.0.1 user=root dbname=test`). With no
//! server it says so in one line and exits 0 (1 when `DOCTABLE_REQUIRE_PG=1`).

use doctable::postgres::{External, Persistent, Pool, driver};
use doctable::{DocTable, Result};

#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "example_notes")]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(unique)]
    title: String,
    #[doctable(index)]
    stars: i64,
    #[doctable(json)]
    tags: Vec<String>,
}

fn note(title: &str, stars: i64) -> Note {
    Note {
        id: None,
        title: title.into(),
        stars,
        tags: vec!["example".into()],
    }
}

fn main() -> Result<()> {
    let base = std::env::var("DOCTABLE_PG")
        .unwrap_or_else(|_| "host=127.0.0.1 user=root dbname=test".to_owned());
    let mut admin = match driver::Client::connect(&base, driver::NoTls) {
        Ok(client) => client,
        Err(e) => {
            println!("postgres example skipped: no server at {base} ({e}); set DOCTABLE_PG=...");
            let required = std::env::var("DOCTABLE_REQUIRE_PG").as_deref() == Ok("1");
            std::process::exit(i32::from(required));
        }
    };
    // A schema of its own, so the example leaves the database as it found it.
    let schema = format!("doctable_example_{}", std::process::id());
    admin
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .map_err(|e| doctable::Error::Usage(e.to_string()))?;
    let params = format!("{base} options='-c search_path={schema}'");
    let result = run(&params);
    let _ = admin.batch_execute(&format!("DROP SCHEMA {schema} CASCADE"));
    result
}

fn run(params: &str) -> Result<()> {
    let db = Persistent::connect(params)?;
    println!("{db}");
    Note::create_table(&db)?;

    let id = Note::insert(&db, &note("first", 3))?;
    Note::insert_many(&db, &[note("second", 5), note("third", 1)])?;
    let top: Vec<String> = Note::select_cols(Note::title)
        .filter(Note::stars.ge(3))
        .order_by(Note::stars.desc())
        .all(&db)?;
    println!("key {id}; three stars or more: {top:?}");
    let (total, mean) = Note::select_cols((Note::stars.sum(), Note::stars.avg()))
        .first(&db)?
        .unwrap_or_default();
    println!("stars: sum {total:?}, average {mean:?}");

    db.transaction(|tx| {
        Note::insert(tx, &note("in a transaction", 4))?;
        Note::update()
            .set(Note::stars, Note::stars + 1)
            .filter(Note::title.eq("first"))
            .run(tx)?;
        Ok(())
    })?;

    let pool = Pool::connect(params, 4)?;
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let pool = pool.clone();
            std::thread::spawn(move || -> Result<()> {
                for i in 0..10 {
                    Note::insert(&pool, &note(&format!("thread {t} note {i}"), i))?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join()
            .map_err(|_| doctable::Error::Usage("a thread panicked".into()))??;
    }

    // Your own client, borrowed: the crate never closes it.
    let mut client = driver::Client::connect(params, driver::NoTls)
        .map_err(|e| doctable::Error::Usage(e.to_string()))?;
    let count = <Note as DocTable>::count().get(&External::new(&mut client)?)?;
    println!("{count} notes, counted on an external client");
    assert_eq!(count, 4 + 40);

    // Your own transaction, borrowed: the crate's writes join it, its own
    // transactions are savepoints in it, and you commit or roll back.
    let mut txn = client
        .transaction()
        .map_err(|e| doctable::Error::Usage(e.to_string()))?;
    {
        let db = External::in_transaction(&mut txn);
        Note::insert(&db, &note("inside the caller's transaction", 0))?;
        assert_eq!(<Note as DocTable>::count().get(&db)?, 4 + 40 + 1);
    }
    txn.rollback()
        .map_err(|e| doctable::Error::Usage(e.to_string()))?;
    let count = <Note as DocTable>::count().get(&External::new(&mut client)?)?;
    println!("{count} notes after rolling back the caller's transaction");
    assert_eq!(count, 4 + 40);
    Ok(())
}
