use doctable::DocTable;

#[derive(DocTable)]
#[doctable(index(by_year = [year]), unique(by_year = [title]))]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    title: String,
    year: i64,
}

fn main() {
    let _ = Doc::year.gt(2000);
}
