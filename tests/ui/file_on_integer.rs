use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(file)]
    size: i64,
}

fn main() {}
