//! Export streams (issue 12, "Export"): writing 1,000,000 rows as CSV and as
//! Parquet raises the process's peak resident memory by a few MiB, far less
//! than the rows or the output would take, measured as
//! tests/streaming_memory.rs does. Alone in its binary, because peak memory
//! is per process. Needs the feature `parquet`.

mod peak_memory;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use doctable::parquet::file::reader::{FileReader, SerializedFileReader};
use doctable::{DocTable, Persistent};
use peak_memory::{reset_peak, status_kib};

#[derive(DocTable)]
struct Token {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
    doc: i64,
    weight: f64,
    seen: SystemTime,
}

/// A writer that keeps nothing: counts the bytes.
#[derive(Default)]
struct Counting {
    bytes: u64,
}

impl std::io::Write for Counting {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
#[cfg_attr(not(target_os = "linux"), ignore = "reads /proc/self/status")]
fn exporting_a_million_rows_keeps_peak_memory_flat() {
    const ROWS: i64 = 1_000_000;
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Persistent::open(dir.path().join("tokens.db")).expect("open");
    Token::create_table(&db).expect("create");
    // Fill with SQL (a recursive CTE) so the test measures exporting, not building rows.
    db.with_rusqlite(|c| {
        c.execute_batch(&format!(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {ROWS}) \
             INSERT INTO token (text, doc, weight, seen) \
             SELECT 'token, \"' || i || '\"', i / 100, i / 7.0, \
                    '2024-01-01T00:00:00.' || printf('%06d', i % 1000000) || 'Z' FROM n"
        ))
    })
    .expect("connection")
    .expect("fill");
    let first = Token::select()
        .order_by(Token::id)
        .first(&db)
        .expect("first")
        .expect("a row");
    assert_eq!(
        first.seen,
        UNIX_EPOCH + Duration::from_micros(1_704_067_200_000_001)
    );

    let before = reset_peak();
    let mut csv = Counting::default();
    let rows = Token::select().to_csv(&db, &mut csv).expect("to_csv");
    let csv_kib = status_kib("VmHWM:").saturating_sub(before);
    eprintln!(
        "CSV: {rows} rows, {} bytes; peak resident memory grew by {csv_kib} KiB",
        csv.bytes
    );
    assert_eq!(rows, ROWS as u64);
    assert!(csv.bytes > 50 << 20, "{} bytes of CSV", csv.bytes);
    assert!(
        csv_kib < 16 * 1024,
        "peak grew by {csv_kib} KiB writing CSV"
    );

    let path = dir.path().join("tokens.parquet");
    let before = reset_peak();
    let rows = Token::select()
        .to_parquet(&db, std::fs::File::create(&path).expect("create"))
        .expect("to_parquet");
    let parquet_kib = status_kib("VmHWM:").saturating_sub(before);
    let size = std::fs::metadata(&path).expect("file").len();
    eprintln!("Parquet: {rows} rows, {size} bytes; peak resident memory grew by {parquet_kib} KiB");
    assert_eq!(rows, ROWS as u64);
    assert!(
        parquet_kib < 32 * 1024,
        "peak grew by {parquet_kib} KiB writing Parquet"
    );
    let file = SerializedFileReader::new(std::fs::File::open(&path).expect("open")).expect("read");
    assert_eq!(file.metadata().file_metadata().num_rows(), ROWS);
    // Written in row groups of at most 65,536 rows, not held whole.
    assert!(
        file.metadata().num_row_groups() >= 16,
        "{}",
        file.metadata().num_row_groups()
    );

    // Memory the size of the CSV, used: the measurement does see it. (Keeping
    // the CSV itself in a `Vec` grows the peak by 75 MiB, measured once; a
    // third export would double this test's time.)
    let before = reset_peak();
    let kept = std::hint::black_box(vec![1u8; usize::try_from(csv.bytes).expect("fits")]);
    let kept_kib = status_kib("VmHWM:").saturating_sub(before);
    eprintln!(
        "{} bytes held; peak resident memory grew by {kept_kib} KiB",
        kept.len()
    );
    assert!(
        kept_kib > 40 * 1024,
        "holding the CSV's size grew only {kept_kib} KiB"
    );
}
