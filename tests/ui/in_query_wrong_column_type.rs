use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    author_id: i64,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::select()
        .filter(Doc::author_id.in_query(Author::select_cols(Author::name)))
        .all(&db)?;
    Ok(())
}
