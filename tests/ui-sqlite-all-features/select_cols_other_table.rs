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
    title: String,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::select_cols((Doc::title, Author::name)).all(&db)?;
    Ok(())
}
