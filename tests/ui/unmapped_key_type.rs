use doctable::{DocTable, Persistent};

struct Slug {
    text: String,
}

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    slug: Slug,
    year: i64,
}

// One error, at the key's type, as for any other field: the key's impl does
// not repeat it.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::select().filter(Doc::year.gt(2000)).all(&db)?;
    Ok(())
}
