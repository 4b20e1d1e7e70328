//! The five-minute tour: a struct becomes a table in a SQLite file.
//!
//! Run it with `cargo run --example quickstart`. It writes `quickstart.db` in
//! the system temp directory (replacing it each run) and prints each step.

use doctable::{DocTable, Persistent};

/// A document of a small text-analysis corpus.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "docs", index(by_year_score = [year, score]))]
pub struct Doc {
    /// Assigned by SQLite on insert.
    #[doctable(primary_key)]
    pub id: Option<i64>,
    /// Titles are unique.
    #[doctable(unique)]
    pub title: String,
    /// The text itself.
    pub body: String,
    /// Some score from an analysis.
    pub score: f64,
    /// Publication year, indexed.
    #[doctable(index)]
    pub year: i64,
    /// An optional note: `Option` makes the column nullable.
    pub note: Option<String>,
    /// Stored as JSON text.
    #[doctable(json)]
    pub tags: Vec<String>,
}

fn doc(title: &str, body: &str, score: f64, year: i64, tags: &[&str]) -> Doc {
    Doc {
        id: None,
        title: title.into(),
        body: body.into(),
        score,
        year,
        note: None,
        tags: tags.iter().map(|t| t.to_string()).collect(),
    }
}

fn main() -> doctable::Result<()> {
    let path = std::env::temp_dir().join("quickstart.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }

    let db = Persistent::open(&path)?;
    Doc::create_table(&db)?;
    println!("opened {} and created table `docs`", path.display());

    let id = Doc::insert(
        &db,
        &doc("On Tables", "Rows and columns.", 0.25, 2001, &["db"]),
    )?;
    println!("inserted one document, id {id}");

    let corpus = vec![
        doc(
            "Word Counts",
            "Counting words by year.",
            0.75,
            1999,
            &["nlp"],
        ),
        doc(
            "Topic Models",
            "Latent topics in text.",
            0.40,
            2005,
            &["nlp", "ml"],
        ),
        doc(
            "Old Letters",
            "Correspondence, digitised.",
            0.10,
            1985,
            &["archive"],
        ),
        doc(
            "Parsing News",
            "Sentences from newspapers.",
            0.55,
            2012,
            &["nlp"],
        ),
    ];
    let n = Doc::insert_many(&db, &corpus)?;
    println!("inserted {n} more in one transaction");

    let hits = Doc::select()
        .filter(Doc::year.gt(2000).and(Doc::score.lt(0.5)))
        .order_by(Doc::score.desc())
        .all(&db)?;
    println!("after 2000 with score < 0.5:");
    for d in &hits {
        println!(
            "  {:>4}  {:<14} score {:.2}  tags {:?}",
            d.year, d.title, d.score, d.tags
        );
    }

    let titles: Vec<(Option<i64>, String)> = Doc::select_cols((Doc::id, Doc::title))
        .order_by(Doc::title.asc())
        .all(&db)?;
    println!("titles: {titles:?}");

    let decade = || Doc::year / 10 * 10;
    let per_decade: Vec<(i64, Option<f64>, i64)> =
        Doc::select_cols((decade(), Doc::score.avg(), Doc::id.count()))
            .group_by(decade())
            .order_by(decade())
            .all(&db)?;
    println!("decade, mean score, documents: {per_decade:?}");

    let one = Doc::get(&db, id)?.expect("the row inserted above");
    println!("get({id}) -> {:?}", one.title);

    let changed = Doc::update()
        .set(Doc::score, Doc::score + 0.1)
        .set(Doc::note, "reviewed")
        .filter(Doc::tags.eq(doctable::Json(vec!["nlp".to_string()])))
        .run(&db)?;
    println!("raised the score of {changed} nlp-only documents and noted them");

    let mut edited = one.clone();
    edited.body.push_str(" Now with an index.");
    Doc::update_row(&db, &edited)?;
    println!("rewrote document {id} by primary key");

    db.transaction(|tx| {
        Doc::insert(tx, &doc("Draft", "Not ready.", 0.0, 2024, &[]))?;
        Doc::delete().filter(Doc::title.eq("Draft")).run(tx)?;
        Ok(())
    })?;
    println!("inserted and removed a draft inside one transaction");

    let removed = Doc::delete().filter(Doc::year.lt(1990)).run(&db)?;
    let with_notes = Doc::count().filter(Doc::note.is_not_null()).get(&db)?;
    let total = Doc::count().get(&db)?;
    println!("deleted {removed} documents before 1990; {total} remain, {with_notes} with a note");
    Ok(())
}
