use doctable::{DocTable, Persistent};

struct Meta {
    words: u32,
}

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(json)]
    meta: Meta,
}

// One error, at the field's type; using the table adds nothing.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::get(&db, 1)?;
    let _ = Doc::select().filter(Doc::id.eq(1)).all(&db)?;
    Ok(())
}
