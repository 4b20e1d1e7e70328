//! PostgreSQL errors on a real server (issue 11): a real deadlock (two
//! threads locking two rows in opposite order) is `Error::Serialization`
//! with SQLSTATE 40P01, and `transaction_retry` reruns the loser until both
//! commit; a wrong password is refused with 28P01 and no password ever
//! appears in an error, `Debug` or `Display` of any strategy (a private
//! cluster with `scram-sha-256`, since the shared server trusts loopback); a
//! stopped server's connect error names the host and port and the cause; a
//! JSON string holding `\u0000` going into JSONB is `Error::Conversion`
//! naming the table and column.
#![cfg(feature = "postgres")]

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;
#[path = "support/pg_cluster.rs"]
mod pg_cluster;

use std::sync::Barrier;
use std::sync::atomic::{AtomicU32, Ordering};

use backends::{PgSchema, TestResult};
use doctable::postgres::{External, PerQuery, Persistent, Pool, driver};
use doctable::{Conn, DocTable, Error, Json};
use pg_cluster::PrivateCluster;

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Account {
    #[doctable(primary_key)]
    id: Option<i64>,
    balance: i64,
}

/// Adds 1 to account `id`'s balance (taking its row lock).
fn bump(tx: &doctable::Tx<'_, doctable::Postgres>, id: i64) -> doctable::Result<()> {
    let changed = Account::update()
        .set(Account::balance, Account::balance + 1)
        .filter(Account::id.eq(id))
        .run(tx)?;
    assert_eq!(changed, 1);
    Ok(())
}

fn balances(db: &impl Conn) -> Vec<i64> {
    Account::select_cols(Account::balance)
        .order_by(Account::id)
        .all(db)
        .expect("balances")
}

/// Two accounts at 0, on two connections of their own.
fn two_accounts(schema: &PgSchema) -> Result<[Persistent; 2], Box<dyn std::error::Error>> {
    let a = Persistent::connect(&schema.params)?;
    let b = Persistent::connect(&schema.params)?;
    Account::create_table(&a)?;
    Account::insert_many(
        &a,
        &[
            Account {
                id: Some(1),
                balance: 0,
            },
            Account {
                id: Some(2),
                balance: 0,
            },
        ],
    )?;
    Ok([a, b])
}

#[test]
fn a_deadlock_is_a_serialization_error_with_40p01() -> TestResult {
    let Some(schema) = PgSchema::new() else {
        return Ok(());
    };
    let [a, b] = two_accounts(&schema)?;
    let barrier = Barrier::new(2);
    let run = |db: &Persistent, first: i64, second: i64| {
        db.transaction(|tx| {
            bump(tx, first)?;
            // Both hold their first row's lock before either asks for
            // the other's: one of them must be chosen as the deadlock's victim.
            barrier.wait();
            bump(tx, second)
        })
    };
    let (ra, rb) = std::thread::scope(|s| {
        let ta = s.spawn(|| run(&a, 1, 2));
        let tb = s.spawn(|| run(&b, 2, 1));
        (ta.join(), tb.join())
    });
    let results = [ra.expect("thread a"), rb.expect("thread b")];
    let failed: Vec<&Error> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert_eq!(failed.len(), 1, "one victim: {results:?}");
    let err = failed[0];
    assert!(
        matches!(err, Error::Serialization { code, table: Some(t), .. } if code == "40P01" && t == "account"),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("deadlock") && text.contains("can be retried"),
        "{text}"
    );
    // The victim's transaction was rolled back: only the winner's two bumps.
    assert_eq!(balances(&a), [1, 1]);
    // Both connections go on.
    assert_eq!(balances(&b), [1, 1]);
    Ok(())
}

#[test]
fn transaction_retry_reruns_the_deadlock_victim_until_both_commit() -> TestResult {
    let Some(schema) = PgSchema::new() else {
        return Ok(());
    };
    let [a, b] = two_accounts(&schema)?;
    let barrier = Barrier::new(2);
    let attempts = [AtomicU32::new(0), AtomicU32::new(0)];
    let run = |db: &Persistent, who: usize, first: i64, second: i64| {
        db.transaction_retry(|tx| {
            let attempt = attempts[who].fetch_add(1, Ordering::SeqCst) + 1;
            bump(tx, first)?;
            if attempt == 1 {
                // Only the first attempts meet here: a rerun goes straight on.
                barrier.wait();
            }
            bump(tx, second)
        })
    };
    std::thread::scope(|s| -> TestResult {
        let ta = s.spawn(|| run(&a, 0, 1, 2));
        let tb = s.spawn(|| run(&b, 1, 2, 1));
        ta.join().expect("thread a")?;
        tb.join().expect("thread b")?;
        Ok(())
    })?;
    let tries = attempts.each_ref().map(|n| n.load(Ordering::SeqCst));
    let mut sorted = tries;
    sorted.sort();
    assert_eq!(
        sorted,
        [1, 2],
        "the victim ran twice, the winner once: {tries:?}"
    );
    assert_eq!(
        balances(&a),
        [2, 2],
        "both transactions committed, each once"
    );
    Ok(())
}

#[test]
fn a_deadlock_inside_the_pool_and_per_query_is_retried_too() -> TestResult {
    let Some(schema) = PgSchema::new() else {
        return Ok(());
    };
    let [a, _] = two_accounts(&schema)?;
    let pool = Pool::connect(&schema.params, 2)?;
    let per = PerQuery::connect(&schema.params)?;
    let barrier = Barrier::new(2);
    let attempts = [AtomicU32::new(0), AtomicU32::new(0)];
    std::thread::scope(|s| -> TestResult {
        let ta = s.spawn(|| {
            pool.transaction_retry(|tx| {
                let attempt = attempts[0].fetch_add(1, Ordering::SeqCst);
                bump(tx, 1)?;
                if attempt == 0 {
                    barrier.wait();
                }
                bump(tx, 2)
            })
        });
        let tb = s.spawn(|| {
            per.transaction_retry(|tx| {
                let attempt = attempts[1].fetch_add(1, Ordering::SeqCst);
                bump(tx, 2)?;
                if attempt == 0 {
                    barrier.wait();
                }
                bump(tx, 1)
            })
        });
        ta.join().expect("pool thread")?;
        tb.join().expect("per-query thread")?;
        Ok(())
    })?;
    let total: u32 = attempts.iter().map(|n| n.load(Ordering::SeqCst)).sum();
    assert_eq!(total, 3);
    assert_eq!(balances(&a), [2, 2]);
    Ok(())
}

// ---------------------------------------------------------------------------
// Passwords, on a private cluster that asks for one.

const SECRET: &str = "Right-Pa55-w0rd-7d1";
const WRONG: &str = "Wr0ng-Guess-93kq";

/// Every text an error shows: `Display`, `Debug` and its source chain.
fn all_text(err: &Error) -> String {
    let mut text = format!("{err} {err:?}");
    let mut next = std::error::Error::source(err);
    while let Some(cause) = next {
        text.push_str(&format!(" {cause} {cause:?}"));
        next = cause.source();
    }
    text
}

fn assert_no_password(text: &str) {
    for secret in [SECRET, WRONG] {
        assert!(!text.contains(secret), "a password in: {text}");
    }
}

#[test]
fn a_wrong_password_is_28p01_and_no_password_is_ever_shown() -> TestResult {
    let Some(cluster) = PrivateCluster::start_with_password(SECRET)? else {
        return Ok(());
    };
    let port = cluster.port;
    let base =
        format!("host=127.0.0.1 port={port} user=postgres dbname=postgres connect_timeout=5");
    let wrong = [
        format!("{base} password={WRONG}"),
        format!("{base} password='{WRONG}'"),
        format!("postgres://postgres:{WRONG}@127.0.0.1:{port}/postgres"),
    ];
    for params in &wrong {
        let per = PerQuery::new(params)?;
        assert_no_password(&format!("{per:?} {per}"));
        let errors = [
            Persistent::connect(params).expect_err("persistent"),
            PerQuery::connect(params).expect_err("per query"),
            Pool::connect(params, 1).expect_err("pool"),
            // A per-query strategy connects at the call.
            <Account as DocTable>::count()
                .get(&per)
                .expect_err("per-query call"),
        ];
        for err in &errors {
            let text = all_text(err);
            assert_no_password(&text);
            assert!(
                matches!(err, Error::Postgres { code, .. } if code == "28P01"),
                "{err:?}"
            );
            let shown = err.to_string();
            println!("wrong password: {shown}");
            assert!(
                shown.contains("password authentication failed for user \"postgres\"")
                    && shown.contains(&format!("port={port}"))
                    && shown.contains("password=<redacted>"),
                "{shown}"
            );
        }
        // The caller's own client is refused by the driver, and never reaches us.
        assert!(driver::Client::connect(params, driver::NoTls).is_err());
    }
    // No password at all, where one is asked for: said plainly.
    let err = Persistent::connect(&base).expect_err("no password");
    let shown = err.to_string();
    assert!(shown.contains("password"), "{shown}");
    assert!(
        shown.contains(&format!("cannot connect to {base}").replace(" connect_timeout=5", "")),
        "{shown}"
    );

    // The right password: every strategy connects; its Debug, Display and
    // its errors never show the password.
    for params in [
        format!("{base} password={SECRET}"),
        format!("postgres://postgres:{SECRET}@127.0.0.1:{port}/postgres"),
    ] {
        let db = Persistent::connect(&params)?;
        let per = PerQuery::connect(&params)?;
        let pool = Pool::connect(&params, 2)?;
        let mut client = driver::Client::connect(&params, driver::NoTls)?;
        let ext = External::new(&mut client)?;
        Account::create_table(&db)?;
        let shown = [
            format!("{db:?} {db}"),
            format!("{per:?} {per}"),
            format!("{pool:?} {pool}"),
            format!("{ext:?} {ext}"),
        ];
        for text in &shown {
            assert_no_password(text);
        }
        assert!(shown[0].contains("password=<redacted>"), "{}", shown[0]);
        // An error of each strategy: a constraint, and a missing table.
        let dup = Account {
            id: Some(1),
            balance: 0,
        };
        Account::insert(&db, &dup)?;
        let errors = [
            Account::insert(&db, &dup).expect_err("persistent"),
            Account::insert(&per, &dup).expect_err("per query"),
            Account::insert(&pool, &dup).expect_err("pool"),
            Account::insert(&ext, &dup).expect_err("external"),
            Account::select_sql("WHERE nope = ?", [1], &pool).expect_err("no such column"),
        ];
        for err in &errors {
            assert_no_password(&all_text(err));
        }
        drop(ext);
        drop(client);
        Account::delete().all_rows().run(&db)?;
        db.with_pg(|c| c.batch_execute("DROP TABLE account"))?;
    }
    Ok(())
}

#[test]
fn a_stopped_server_is_named_with_host_port_and_cause() -> TestResult {
    let Some(cluster) = PrivateCluster::start()? else {
        return Ok(());
    };
    let port = cluster.port;
    let params = format!("{} password={SECRET}", cluster.params());
    let db = Persistent::connect(&params)?;
    let per = PerQuery::connect(&params)?;
    Account::create_table(&db)?;
    cluster.pg_ctl("stop")?;

    // The persistent client's server went away: the call in flight says the
    // connection was lost, with the socket's cause.
    let lost = <Account as DocTable>::count()
        .get(&db)
        .expect_err("server stopped");
    assert!(
        matches!(&lost, Error::Postgres { code, .. } if code.starts_with("08") || code == "57P01"),
        "{lost:?}"
    );
    // Later calls try to connect again, and say why they cannot.
    for err in [
        <Account as DocTable>::count()
            .get(&db)
            .expect_err("reconnect refused"),
        <Account as DocTable>::count()
            .get(&per)
            .expect_err("per query refused"),
        Persistent::connect(&params).expect_err("connect refused"),
        Pool::connect(&params, 1).expect_err("pool refused"),
    ] {
        let shown = err.to_string();
        println!("server stopped: {shown}");
        assert_no_password(&all_text(&err));
        assert!(
            matches!(&err, Error::Postgres { code, .. } if code == "08001"),
            "{err:?}"
        );
        assert!(
            shown.contains(&format!(
                "cannot connect to host=127.0.0.1 port={port} user=postgres"
            )) && shown.contains("error connecting to server")
                && shown.to_lowercase().contains("connection refused"),
            "{shown}"
        );
    }
    // Back up: the next call connects again.
    cluster.pg_ctl("start")?;
    assert_eq!(<Account as DocTable>::count().get(&db)?, 0);
    assert_eq!(<Account as DocTable>::count().get(&per)?, 0);
    Ok(())
}

// ---------------------------------------------------------------------------
// JSONB and NUL.

#[derive(DocTable, Debug, Clone, PartialEq)]
struct Note {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(json)]
    tags: Vec<String>,
    extra: Json<serde_json::Value>,
}

#[test]
fn a_nul_in_a_jsonb_string_is_a_conversion_error_naming_table_and_column() -> TestResult {
    backends::on_pg_persistent(|db| {
        Note::create_table(db)?;
        let err = Note::insert(
            db,
            &Note {
                id: None,
                tags: vec!["a\0b".into()],
                extra: Json(serde_json::json!({})),
            },
        )
        .expect_err("NUL in JSONB");
        assert!(
            matches!(&err, Error::Conversion { table, column, detail, .. }
                if table == "note" && column == "tags" && detail.contains("\\u0000")),
            "{err:?}"
        );
        let err = Note::insert_many(
            db,
            &[Note {
                id: None,
                tags: vec![],
                extra: Json(serde_json::json!({"k": "x\u{0}"})),
            }],
        )
        .expect_err("NUL in JSONB, many");
        assert!(
            matches!(&err, Error::Conversion { table, column, .. } if table == "note" && column == "extra"),
            "{err:?}"
        );
        // A backslash followed by the text u0000 is no NUL: stored and read back.
        let fine = Note {
            id: Some(7),
            tags: vec!["\\u0000".into()],
            extra: Json(serde_json::json!({"k": "\\u0000"})),
        };
        Note::insert(db, &fine)?;
        assert_eq!(Note::get(db, 7)?, Some(fine));
        // SQLite stores the NUL.
        let lite = doctable::Persistent::open_in_memory()?;
        Note::create_table(&lite)?;
        let id = Note::insert(
            &lite,
            &Note {
                id: None,
                tags: vec!["a\0b".into()],
                extra: Json(serde_json::json!({})),
            },
        )?;
        assert_eq!(
            Note::get(&lite, id)?.map(|n| n.tags),
            Some(vec!["a\0b".to_owned()])
        );
        Ok(())
    })
}
