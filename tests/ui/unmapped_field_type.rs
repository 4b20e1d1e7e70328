use doctable::{DocTable, Persistent};

struct Point {
    x: f64,
    y: f64,
}

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    location: Point,
}

// One error, at the field's type; using the table adds nothing.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::get(&db, 1)?;
    let _ = Doc::select().filter(Doc::id.eq(1)).all(&db)?;
    Ok(())
}
