//! Streaming from PostgreSQL keeps memory flat: reading 500,000 rows with
//! `for_each` on a `Persistent` raises the process's peak resident memory by
//! far less than collecting them with `all()` does. Alone in its binary,
//! because peak memory is per process.
#![cfg(feature = "postgres")]

mod peak_memory;
mod pg_backend_support;

use doctable::DocTable;
use doctable::postgres::Persistent;
use peak_memory::{reset_peak, status_kib};
use pg_backend_support::schema;

#[derive(DocTable)]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    doc: i64,
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/self/status")]
fn streaming_500k_postgres_rows_stays_under_8_mib_of_extra_peak_memory() {
    const ROWS: i64 = 500_000;
    let Some(mut s) = schema() else { return };
    let db = Persistent::connect(&s.params).expect("connect");
    Token::create_table(&db).expect("create");
    // Fill on the server (generate_series) so the test measures reading, not building rows.
    let name = s.name.clone();
    s.admin()
        .batch_execute(&format!(
            "INSERT INTO {name}.token (text, doc) \
             SELECT 'token-' || i, i / 100 FROM generate_series(1, {ROWS}) AS i"
        ))
        .expect("fill");

    // Warm up: the statement prepared and the client's buffers grown once.
    let mut warm = 0;
    Token::select()
        .limit(1000)
        .for_each(&db, |_| {
            warm += 1;
            Ok(())
        })
        .expect("warm-up");
    assert_eq!(warm, 1000);

    let before = reset_peak();
    let (mut rows, mut bytes) = (0i64, 0usize);
    Token::select()
        .for_each(&db, |t| {
            rows += 1;
            bytes += t.text.len() + usize::from(t.doc >= 0) + usize::from(t.id.is_some());
            Ok(())
        })
        .expect("for_each");
    let streamed_kib = status_kib("VmHWM:").saturating_sub(before);
    eprintln!("streamed {rows} rows; peak resident memory grew by {streamed_kib} KiB");
    assert_eq!(rows, ROWS);
    // Collecting these rows holds about 500,000 * (48-byte struct + ~13-byte
    // string) = ~29 MiB; streaming holds one row (and the driver's read buffer).
    assert!(
        streamed_kib < 8 * 1024,
        "peak grew by {streamed_kib} KiB while streaming {bytes} bytes"
    );

    // The same read collected: the measurement does see memory when it is used.
    let before = reset_peak();
    let all = Token::select().all(&db).expect("all");
    let collected_kib = status_kib("VmHWM:").saturating_sub(before);
    eprintln!(
        "collected {} rows; peak resident memory grew by {collected_kib} KiB",
        all.len()
    );
    assert_eq!(all.len() as i64, ROWS);
    assert!(
        collected_kib > 20 * 1024,
        "collecting grew only {collected_kib} KiB"
    );
    assert!(collected_kib > 3 * streamed_kib.max(1));
}
