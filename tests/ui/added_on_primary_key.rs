use std::time::SystemTime;

use doctable::DocTable;

#[derive(DocTable)]
struct Event {
    #[doctable(primary_key, added)]
    at: SystemTime,
    what: String,
}

fn main() {}
