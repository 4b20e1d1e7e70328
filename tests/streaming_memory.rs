//! Streaming keeps memory flat: reading 1,000,000 rows with `for_each` raises
//! the process's peak resident memory by far less than collecting them would.
//! Alone in its binary, because peak memory is per process.

mod peak_memory;

use doctable::{DocTable, Persistent};
use peak_memory::{reset_peak, status_kib};

#[derive(DocTable)]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    doc: i64,
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/self/status")]
fn streaming_a_million_rows_stays_under_16_mib_of_extra_peak_memory() {
    const ROWS: i64 = 1_000_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("tokens.db")).expect("open");
    Token::create_table(&db).expect("create");
    // Fill with SQL (a recursive CTE) so the test measures reading, not building rows.
    db.with_rusqlite(|c| {
        c.execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
             INSERT INTO token (text, doc) SELECT 'token-' || i, i / 100 FROM n"
        ))
    })
    .expect("connection")
    .expect("fill");

    let before = reset_peak();
    let (mut rows, mut bytes) = (0i64, 0usize);
    Token::select()
        .for_each(&db, |t| {
            rows += 1;
            bytes += t.text.len() + usize::from(t.doc >= 0) + usize::from(t.id.is_some());
            Ok(())
        })
        .expect("for_each");
    let grown_kib = status_kib("VmHWM:").saturating_sub(before);
    eprintln!("streamed {rows} rows; peak resident memory grew by {grown_kib} KiB");
    assert_eq!(rows, ROWS);
    // Collecting these rows would hold about 1,000,000 * (48-byte struct + ~12-byte
    // string) = ~57 MiB; streaming holds one row at a time plus SQLite's page cache
    // (2 MiB by default).
    assert!(
        grown_kib < 16 * 1024,
        "peak grew by {grown_kib} KiB while streaming {bytes} bytes"
    );

    // The same read collected: the measurement does see memory when it is used.
    let before = reset_peak();
    let all = Token::select().all(&db).expect("all");
    let collected_kib = status_kib("VmHWM:").saturating_sub(before);
    eprintln!(
        "collected {} rows; peak resident memory grew by {collected_kib} KiB",
        all.len()
    );
    assert!(
        collected_kib > 40 * 1024,
        "collecting grew only {collected_kib} KiB"
    );
}
