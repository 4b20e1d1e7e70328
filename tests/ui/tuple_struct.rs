use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc(i64, String);

// The derive's error is the only one: the stand-in impls it leaves keep
// the struct usable, so these lines add nothing.
fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::select().all(&db)?;
    Ok(())
}
