use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    title: String,
    year: i64,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::get(&db, 1)?;
    Ok(())
}
