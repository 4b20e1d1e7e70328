use std::time::SystemTime;

use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(updated, json)]
    changed: SystemTime,
}

fn main() {}
