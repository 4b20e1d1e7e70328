use std::time::SystemTime;

use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(created)]
    created: SystemTime,
}

fn main() {}
