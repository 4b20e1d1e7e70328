use doctable::{DocTable, Persistent};

#[derive(DocTable)]
#[doctable(primary_key(lang, rank))]
struct Word {
    lang: String,
    rank: i64,
    text: String,
}

// The key is (String, i64): the values are given in the wrong order.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Word::get(&db, (1, "en"))?;
    Ok(())
}
