use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(added)]
    added: String,
}

// One error, at the field's type; using the table adds nothing.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::get(&db, 1)?;
    let _ = Doc::select().filter(Doc::added.eq("x")).all(&db)?;
    Ok(())
}
