//! The PostgreSQL test harness itself (tests/support/backends.rs), with the
//! plain `postgres` client: one schema per test, sessions confined to it, the
//! schema dropped afterwards, passwords redacted from what it prints. Runs
//! with or without the `postgres` feature; skips (one line) with no server.

#[allow(unused_macros)]
#[macro_use]
#[path = "support/backends.rs"]
mod backends;

use backends::{PgSchema, TestResult, redact, with_pg_schema, with_search_path};

#[test]
fn each_schema_is_fresh_confined_and_dropped() -> TestResult {
    let Some(first) = PgSchema::new() else {
        return Ok(());
    };
    let second = PgSchema::new().expect("the server answered a moment ago");
    assert_ne!(first.name, second.name);
    let mut client = first.client();
    let schema: String = client
        .query_one("SELECT current_schema()", &[])?
        .try_get(0)?;
    assert_eq!(schema, first.name);
    // Commits do not wait for the WAL flush (see `with_search_path`).
    let sync: String = client
        .query_one("SHOW synchronous_commit", &[])?
        .try_get(0)?;
    assert_eq!(sync, "off");
    client.batch_execute("CREATE TABLE t (id BIGINT); INSERT INTO t VALUES (1)")?;
    assert_eq!(first.table_count(), 1);
    // The other schema does not see it.
    assert_eq!(second.table_count(), 0);
    let err = second
        .client()
        .query_one("SELECT count(*) FROM t", &[])
        .expect_err("t is not in the second schema");
    assert_eq!(
        err.as_db_error().map(|e| e.code().code()),
        Some("42P01"),
        "{err:?}"
    );
    drop(client);

    let name = first.name.clone();
    drop(first);
    let mut admin = backends::pg_client(&backends::pg_base_params())?;
    let left: i64 = admin
        .query_one(
            "SELECT count(*) FROM pg_namespace WHERE nspname = $1",
            &[&name],
        )?
        .try_get(0)?;
    assert_eq!(left, 0, "schema {name} was not dropped");
    Ok(())
}

#[test]
fn with_pg_schema_runs_the_body_when_there_is_a_server() -> TestResult {
    let mut ran = false;
    with_pg_schema(|schema| {
        ran = true;
        let n: i64 = schema
            .client()
            .query_one("SELECT 1::BIGINT", &[])?
            .try_get(0)?;
        assert_eq!(n, 1);
        Ok(())
    })?;
    // Without a server the body is skipped, unless the server is required.
    assert!(ran || !backends::pg_required());
    Ok(())
}

#[test]
fn passwords_are_redacted_from_parameters() {
    assert_eq!(
        redact("host=h user=u password=secret dbname=d"),
        "host=h user=u password=*** dbname=d"
    );
    assert_eq!(redact("host=h PASSWORD=s3"), "host=h PASSWORD=***");
    assert_eq!(
        redact("postgres://u:secret@h:5432/d"),
        "postgres://u:***@h:5432/d"
    );
    assert_eq!(
        redact("postgresql://u@h/d?password=secret&sslmode=disable"),
        "postgresql://u@h/d?password=***&sslmode=disable"
    );
    assert_eq!(
        redact("host=127.0.0.1 user=root"),
        "host=127.0.0.1 user=root"
    );
}

#[test]
fn search_path_is_added_to_either_form() {
    assert_eq!(
        with_search_path("host=h dbname=d", "s1"),
        "host=h dbname=d options='-c search_path=s1 -c synchronous_commit=off'"
    );
    assert_eq!(
        with_search_path("postgres://u@h/d", "s1"),
        "postgres://u@h/d?options=-c%20search_path%3Ds1%20-c%20synchronous_commit%3Doff"
    );
    assert_eq!(
        with_search_path("postgres://u@h/d?sslmode=disable", "s1"),
        "postgres://u@h/d?sslmode=disable&options=-c%20search_path%3Ds1%20-c%20synchronous_commit%3Doff"
    );
}
