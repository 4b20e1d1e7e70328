use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    Doc::delete().run(&db)?;
    Ok(())
}
