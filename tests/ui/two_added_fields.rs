use std::time::SystemTime;

use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(added)]
    created: SystemTime,
    #[doctable(added)]
    imported: SystemTime,
}

fn main() {}
