//! The query language on a small text-analysis corpus: documents, their
//! authors, and word counts per document.
//!
//! Run it with `cargo run --example queries`.

use doctable::{DocTable, Expr, Persistent, exists, select_sql};

/// A writer.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "authors")]
pub struct Author {
    /// Assigned on insert.
    #[doctable(primary_key)]
    pub id: Option<i64>,
    /// Unique name.
    #[doctable(unique)]
    pub name: String,
}

/// A document of the corpus.
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "documents")]
pub struct Document {
    /// Assigned on insert.
    #[doctable(primary_key)]
    pub id: Option<i64>,
    /// The author, if known.
    pub author_id: Option<i64>,
    /// Title.
    pub title: String,
    /// Publication year.
    #[doctable(index)]
    pub year: i64,
    /// The text.
    pub body: String,
}

/// How often a word occurs in a document: unique per (document, word).
#[derive(DocTable, Debug, Clone, PartialEq)]
#[doctable(table = "word_counts", unique(one_count_per_word = [document_id, word]))]
pub struct WordCount {
    /// Assigned on insert.
    #[doctable(primary_key)]
    pub id: Option<i64>,
    /// The document counted.
    pub document_id: i64,
    /// The word, lower-cased.
    pub word: String,
    /// Occurrences (a field named `count`: `WordCount::count` is this column).
    #[doctable(shadows_operation)]
    pub count: i64,
}

/// Per author: name, documents, words, distinct words, first and last year.
type AuthorTotals = (String, i64, Option<i64>, i64, Option<i64>, Option<i64>);

fn main() -> doctable::Result<()> {
    let dir = std::env::temp_dir().join("doctable-queries-example");
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("corpus.db");
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    let db = Persistent::open(&path)?;
    Author::create_table(&db)?;
    Document::create_table(&db)?;
    WordCount::create_table(&db)?;

    // Authors and documents; `insert_or_ignore` skips a name already present.
    let woolf = Author::insert(
        &db,
        &Author {
            id: None,
            name: "Woolf".into(),
        },
    )?;
    let orwell = Author::insert(
        &db,
        &Author {
            id: None,
            name: "Orwell".into(),
        },
    )?;
    let again = Author::insert_or_ignore(
        &db,
        &Author {
            id: None,
            name: "Woolf".into(),
        },
    )?;
    println!("authors: Woolf = {woolf}, Orwell = {orwell}; inserting Woolf again -> {again:?}");

    let texts = [
        (
            Some(woolf),
            "The Waves",
            1931,
            "the sun had not yet risen the sea was indistinguishable from the sky",
        ),
        (
            Some(woolf),
            "Orlando",
            1928,
            "he for there could be no doubt of his sex",
        ),
        (
            Some(orwell),
            "Animal Farm",
            1945,
            "all animals are equal but some animals are more equal than others",
        ),
        (
            Some(orwell),
            "1984",
            1949,
            "it was a bright cold day in april and the clocks were striking thirteen",
        ),
        (
            None,
            "Beowulf",
            1000,
            "listen we have heard of the glory of the spear danes",
        ),
    ];
    let docs: Vec<Document> = texts
        .iter()
        .map(|&(author_id, title, year, body)| Document {
            id: None,
            author_id,
            title: title.into(),
            year,
            body: body.into(),
        })
        .collect();
    Document::insert_many(&db, &docs)?;

    // Word counts, written in one transaction through an upsert that adds up
    // repeated words instead of failing on the unique (document, word) pair.
    let add = WordCount::upsert()
        .on_conflict((WordCount::document_id, WordCount::word))
        .update(WordCount::count);
    db.transaction(|tx| {
        Document::select().all(tx)?.iter().try_for_each(|doc| {
            let id = doc.id.unwrap_or_default();
            let mut counts = std::collections::BTreeMap::<&str, i64>::new();
            for word in doc.body.split_whitespace() {
                *counts.entry(word).or_default() += 1;
            }
            let rows: Vec<WordCount> = counts
                .into_iter()
                .map(|(word, count)| WordCount {
                    id: None,
                    document_id: id,
                    word: word.into(),
                    count,
                })
                .collect();
            add.run_many(tx, &rows).map(|_| ())
        })
    })?;
    let distinct_words = WordCount::select_cols(WordCount::word.count_distinct()).first(&db)?;
    println!("counted words: {} distinct", distinct_words.unwrap_or(0));

    // Tuple selects, with filter, order, limit and distinct.
    let titles: Vec<(String, i64)> = Document::select_cols((Document::title, Document::year))
        .filter(Document::year.between(1900, 1950))
        .order_by(Document::year.desc())
        .limit(3)
        .all(&db)?;
    println!("latest three of 1900-1950: {titles:?}");
    let years: Vec<i64> = Document::select_cols(Document::year / 100 * 100)
        .distinct()
        .order_by(Document::year)
        .all(&db)?;
    println!("centuries present: {years:?}");

    // Aggregates: totals per word, most frequent first, over documents that have them.
    let top: Vec<(String, Option<i64>, i64)> = WordCount::select_cols((
        WordCount::word,
        WordCount::count.sum(),
        WordCount::document_id.count(),
    ))
    .group_by(WordCount::word)
    .having(WordCount::count.sum().gt(1))
    .order_by(WordCount::count.sum().desc())
    .order_by(WordCount::word)
    .all(&db)?;
    println!("words used more than once: {top:?}");
    let (first, last, mean): (Option<i64>, Option<i64>, Option<f64>) = Document::select_cols((
        Document::year.min(),
        Document::year.max(),
        Document::year.avg(),
    ))
    .first(&db)?
    .unwrap_or((None, None, None));
    println!("years from {first:?} to {last:?}, mean {mean:.1?}");

    // Joins: documents with their authors; a left join keeps the anonymous one.
    let by_orwell: Vec<(Document, Author)> = Document::select()
        .join(Document::author_id, Author::id)
        .filter(Author::name.eq("Orwell"))
        .order_by(Document::year)
        .all(&db)?;
    println!(
        "by Orwell: {:?}",
        by_orwell.iter().map(|(d, _)| &d.title).collect::<Vec<_>>()
    );
    for (doc, author) in Document::select()
        .left_join(Document::author_id, Author::id)
        .order_by(Document::year)
        .all(&db)?
    {
        let name = author.map_or_else(|| "(unknown)".to_string(), |a| a.name);
        println!("  {:>4}  {:<12} {name}", doc.year, doc.title);
    }

    // Word counts by year: join the counts to their documents.
    let the_by_year: Vec<(WordCount, Document)> = WordCount::select()
        .join(WordCount::document_id, Document::id)
        .filter(WordCount::word.eq("the"))
        .order_by(Document::year)
        .all(&db)?;
    println!(
        "\"the\" by year: {:?}",
        the_by_year
            .iter()
            .map(|(w, d)| (d.year, w.count))
            .collect::<Vec<_>>()
    );

    // Per author, over a three-table join (authors, their documents, and the
    // documents' word counts): documents, words, distinct words and years,
    // as one typed query; the busiest author first.
    let per_author: Vec<AuthorTotals> = Author::select()
        .join(Author::id, Document::author_id)
        .join(Document::id, WordCount::document_id)
        .select_cols((
            Author::name,
            Document::id.count_distinct(),
            WordCount::count.sum(),
            WordCount::word.count_distinct(),
            Document::year.min(),
            Document::year.max(),
        ))
        .group_by(Author::name)
        .order_by(WordCount::count.sum().desc())
        .all(&db)?;
    println!("per author (documents, words, distinct words, first and last year):");
    for (name, documents, words, distinct, first, last) in &per_author {
        println!(
            "  {name:<8} {documents} documents, {} words, {distinct} distinct, {}-{}",
            words.unwrap_or(0),
            first.unwrap_or(0),
            last.unwrap_or(0)
        );
    }
    // Every author, with a left join (an author with no documents would count 0).
    let documents_per_author: Vec<(String, i64)> = Author::select()
        .left_join(Author::id, Document::author_id)
        .select_cols((Author::name, Document::id.count()))
        .group_by(Author::name)
        .order_by(Author::name)
        .all(&db)?;
    println!("documents per author: {documents_per_author:?}");

    // Subqueries: documents whose author wrote "equal"; authors with a
    // document after 1940 (a correlated `exists`).
    let equal_authors = Document::author_id.in_query(
        Document::select_cols(Document::author_id).filter(Document::id.in_query(
            WordCount::select_cols(WordCount::document_id).filter(WordCount::word.eq("equal")),
        )),
    );
    let by_them: Vec<String> = Document::select_cols(Document::title)
        .filter(equal_authors)
        .order_by(Document::title)
        .all(&db)?;
    println!("documents by an author who wrote \"equal\": {by_them:?}");
    let late: Vec<String> = Author::select_cols(Author::name)
        .filter(exists(
            Document::select()
                .filter(Document::year.gt(1940))
                .correlated(Document::author_id, Author::id),
        ))
        .all(&db)?;
    println!("authors with a document after 1940: {late:?}");

    // Streaming: read row by row without collecting, or in batches.
    let mut words = 0;
    WordCount::select().for_each(&db, |w| {
        words += w.count;
        Ok(())
    })?;
    let mut batches = 0;
    WordCount::select().chunks(&db, 16, |batch| {
        batches += 1;
        assert!(batch.len() <= 16);
        Ok(())
    })?;
    println!("{words} words in all, read again in {batches} batches of up to 16");
    let any_ancient = Document::select()
        .filter(Document::year.lt(1500))
        .exists(&db)?;
    println!("any document before 1500? {any_ancient}");

    // Raw SQL, always with bound parameters.
    let long_bodies =
        Document::select_sql("WHERE length(\"body\") > ? ORDER BY \"year\"", [60], &db)?;
    println!(
        "bodies over 60 characters: {:?}",
        long_bodies.iter().map(|d| &d.title).collect::<Vec<_>>()
    );
    let short: Expr<Document, bool> = Expr::raw("length(\"title\") <= ?", [4]);
    let short_titles: Vec<String> = Document::select_cols(Document::title)
        .filter(short)
        .order_by(Document::title)
        .all(&db)?;
    println!("titles of four characters or fewer: {short_titles:?}");

    // A whole statement of one's own into any row shape (here a window
    // function, which the builder does not write).
    let ranked: Vec<(String, i64, i64)> = select_sql(
        "SELECT \"title\", \"year\", rank() OVER (ORDER BY \"year\") FROM \"documents\" \
         WHERE \"year\" > ? ORDER BY 3",
        [1900],
        &db,
    )?;
    println!("ranked by year since 1900: {ranked:?}");

    // Returning rows: the stored row comes back with its key.
    let stored = Document::insert_returning(
        &db,
        &Document {
            id: None,
            author_id: Some(woolf),
            title: "Mrs Dalloway".into(),
            year: 1925,
            body: "mrs dalloway said she would buy the flowers herself".into(),
        },
    )?;
    println!("inserted {:?} with id {:?}", stored.title, stored.id);
    let renamed = Document::update()
        .set(Document::title, "Mrs. Dalloway")
        .filter(Document::id.eq(stored.id))
        .returning(&db)?;
    println!(
        "after the update: {:?}",
        renamed.iter().map(|d| &d.title).collect::<Vec<_>>()
    );
    Ok(())
}
