//! A text-analysis corpus from real files on this machine: the copyright
//! notices of the installed packages (`/usr/share/doc/*/copyright`), or, on a
//! machine without them, this repository's own Markdown and Rust files.
//!
//! Each document's body lives in a file column (content-addressed files
//! beside the database), `added` and `updated` are set by the crate, word
//! counts are summed per year, and the results are exported to CSV and
//! Parquet.
//!
//! Run it with `cargo run --example corpus --features parquet` (add a number
//! to cap the documents read: `-- 200`). It writes into
//! `<temp dir>/doctable-corpus/`, replacing it each run.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use doctable::{DocTable, Persistent};

/// One text of the corpus.
#[derive(DocTable, Debug, Clone)]
#[doctable(table = "documents")]
pub struct Document {
    /// Assigned on insert.
    #[doctable(primary_key)]
    pub id: Option<i64>,
    /// Where the text came from (a package name, or a file name).
    #[doctable(unique)]
    pub source: String,
    /// The latest year the text mentions (1970 to this year), if any.
    #[doctable(index)]
    pub year: Option<i64>,
    /// Whitespace-separated words.
    pub words: i64,
    /// The body's length in bytes.
    pub bytes: i64,
    /// The text itself, kept in a file named by its SHA-256; the column holds the hash.
    #[doctable(file)]
    pub body: String,
    /// Set by the crate when the row is inserted; never changes afterwards.
    #[doctable(added)]
    pub added: SystemTime,
    /// Set by the crate on insert and on every update.
    #[doctable(updated)]
    pub updated: SystemTime,
}

fn main() -> doctable::Result<()> {
    let limit: usize = std::env::args()
        .nth(1)
        .map(|n| {
            n.parse()
                .expect("the first argument is a number of documents")
        })
        .unwrap_or(2_000);
    let dir = std::env::temp_dir().join("doctable-corpus");
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir)?;
    let db_path = dir.join("corpus.db");
    let db = Persistent::open(&db_path)?;
    Document::create_table(&db)?;

    // 1. Read the texts and insert them in one transaction.
    let docs = read_corpus(limit);
    let started = std::time::Instant::now();
    let inserted = Document::insert_many(&db, &docs)?;
    println!(
        "inserted {inserted} documents ({} MiB of text) in {:.2?}; bodies in {}",
        docs.iter().map(|d| d.bytes).sum::<i64>() / (1 << 20),
        started.elapsed(),
        dir.join("corpus.db-files").display()
    );
    let distinct = docs
        .iter()
        .map(|d| d.body.as_str())
        .collect::<std::collections::HashSet<_>>()
        .len();
    println!("  {distinct} distinct bodies: documents with the same text share one file");

    // 2. Revise some documents: the upsert updates them in place, so `updated`
    //    moves and `added` stays.
    std::thread::sleep(Duration::from_millis(5));
    let revise = Document::upsert().on_conflict(Document::source).update((
        Document::body,
        Document::words,
        Document::bytes,
    ));
    let revised: Vec<Document> = docs
        .iter()
        .take(10)
        .map(|d| {
            let body = format!("{}\n\nReviewed for the corpus.\n", d.body);
            Document {
                words: count_words(&body),
                bytes: body.len() as i64,
                body,
                ..d.clone()
            }
        })
        .collect();
    revise.run_many(&db, &revised)?;
    if let Some(first) = revised.first() {
        let stored = Document::select()
            .filter(Document::source.eq(first.source.as_str()))
            .one(&db)?;
        println!(
            "revised {} documents; `{}`: added {}, updated {} ({} later)",
            revised.len(),
            stored.source,
            rfc3339(stored.added),
            rfc3339(stored.updated),
            fmt_gap(
                stored
                    .updated
                    .duration_since(stored.added)
                    .unwrap_or_default()
            ),
        );
        assert!(stored.body.ends_with("Reviewed for the corpus.\n"));
    }

    // 3. Words per year.
    let per_year =
        Document::select_cols((Document::year, Document::id.count(), Document::words.sum()))
            .filter(Document::year.is_not_null())
            .group_by(Document::year)
            .order_by(Document::year);
    println!("\nyear  documents    words");
    for (year, n, words) in per_year.all(&db)? {
        println!(
            "{:>4}  {n:>9}  {:>7}",
            year.unwrap_or_default(),
            words.unwrap_or_default()
        );
    }

    // 4. Export: the per-year table to CSV, the documents (without their
    //    bodies) to Parquet. Both stream; neither holds the result in memory.
    let csv_path = dir.join("words_per_year.csv");
    let rows = per_year.to_csv(&db, fs::File::create(&csv_path)?)?;
    println!("\n{rows} rows -> {}", csv_path.display());
    let parquet_path = dir.join("documents.parquet");
    let rows = Document::select_cols((
        Document::id,
        Document::source,
        Document::year,
        Document::words,
        Document::bytes,
        Document::added,
        Document::updated,
    ))
    .order_by(Document::id)
    .to_parquet(&db, fs::File::create(&parquet_path)?)?;
    println!("{rows} rows -> {}", parquet_path.display());

    // 5. Delete the short texts, then remove the files no row refers to.
    let deleted = Document::delete()
        .filter(Document::words.lt(100))
        .run(&db)?;
    let report = Document::clean_files(&db)?;
    println!(
        "\ndeleted {deleted} documents under 100 words; clean_files removed {} files ({} bytes), {} rows with a missing file",
        report.removed.len(),
        report.bytes_freed,
        report.missing.len()
    );
    Ok(())
}

/// Up to `limit` texts: the packages' copyright notices, else this
/// repository's own files.
fn read_corpus(limit: usize) -> Vec<Document> {
    let mut paths: Vec<(String, PathBuf)> = fs::read_dir("/usr/share/doc")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| {
            let package = entry.file_name().to_string_lossy().into_owned();
            (package, entry.path().join("copyright"))
        })
        .filter(|(_, path)| path.is_file())
        .collect();
    if paths.is_empty() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        for sub in ["", "examples", "tests", "doctable/src"] {
            for entry in fs::read_dir(root.join(sub)).into_iter().flatten().flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "md" || e == "rs") {
                    let name = path
                        .strip_prefix(root)
                        .unwrap_or(&path)
                        .display()
                        .to_string();
                    paths.push((name, path));
                }
            }
        }
    }
    paths.sort();
    paths.truncate(limit);
    let now = SystemTime::UNIX_EPOCH;
    paths
        .into_iter()
        .filter_map(|(source, path)| {
            // Skip what is not UTF-8 text: a file column of `String` holds text.
            let body = fs::read_to_string(&path).ok()?;
            Some(Document {
                id: None,
                source,
                year: latest_year(&body),
                words: count_words(&body),
                bytes: body.len() as i64,
                body,
                // Ignored: the crate sets both when the row is written.
                added: now,
                updated: now,
            })
        })
        .collect()
}

fn count_words(text: &str) -> i64 {
    text.split_whitespace().count() as i64
}

/// The largest four-digit number from 1970 to this year standing alone in `text`.
fn latest_year(text: &str) -> Option<i64> {
    let this_year = 1970
        + SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs() as i64
            / 31_556_952;
    text.split(|c: char| !c.is_ascii_digit())
        .filter(|digits| digits.len() == 4)
        .filter_map(|digits| digits.parse::<i64>().ok())
        .filter(|year| (1970..=this_year).contains(year))
        .max()
}

/// A time as `YYYY-MM-DDTHH:MM:SS.ffffffZ` (UTC), without a date crate.
fn rfc3339(t: SystemTime) -> String {
    let micros = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as i64;
    let (days, rest) = (
        micros.div_euclid(86_400_000_000),
        micros.rem_euclid(86_400_000_000),
    );
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let secs = rest / 1_000_000;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        rest % 1_000_000
    )
}

fn fmt_gap(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}
