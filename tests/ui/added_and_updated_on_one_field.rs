use std::time::SystemTime;

use doctable::{DocTable, Persistent};

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(added, updated)]
    at: SystemTime,
}

fn main() -> doctable::Result<()> {
    let db = Persistent::open_in_memory()?;
    let _ = Doc::get(&db, 1)?;
    Ok(())
}
