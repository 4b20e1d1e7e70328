use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(primary_key)]
    slug: String,
}

// The derive's error is the only one: the stand-in impls it leaves keep
// the struct's columns and key usable, so these lines add nothing.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::get(&db, (1, "x"))?;
    let _ = Doc::select().filter(Doc::slug.eq("x")).all(&db)?;
    Ok(())
}
