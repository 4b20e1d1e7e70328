use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Word {
    #[doctable(primary_key)]
    lang: String,
    #[doctable(primary_key)]
    text: String,
}

// A composite key is a tuple of every key column's value, not one of them.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Word::delete_key(&db, "en")?;
    Ok(())
}
