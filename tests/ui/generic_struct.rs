use doctable::DocTable;

#[derive(DocTable)]
struct Doc<T> {
    #[doctable(primary_key)]
    id: Option<i64>,
    value: T,
}

fn main() {}
