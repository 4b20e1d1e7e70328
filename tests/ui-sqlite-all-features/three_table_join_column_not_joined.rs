use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Country {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

#[derive(DocTable)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    country_id: i64,
}

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    author_id: i64,
}

#[derive(DocTable)]
struct Word {
    #[doctable(primary_key)]
    id: Option<i64>,
    text: String,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::select()
        .join(Doc::author_id, Author::id)
        .join(Author::country_id, Country::id)
        .select_cols((Country::name, Word::text))
        .all(&db)?;
    let _ = Doc::select()
        .join(Doc::author_id, Author::id)
        .join(Author::country_id, Country::id)
        .filter(Word::text.eq("x"))
        .all(&db)?;
    Ok(())
}
