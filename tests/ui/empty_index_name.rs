use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(index = "")]
    year: i64,
}

fn main() {
    let _ = Doc::year.gt(2000);
}
