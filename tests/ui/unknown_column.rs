use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::select().filter(Doc::yeer.gt(2000)).all(&db)?;
    Ok(())
}
