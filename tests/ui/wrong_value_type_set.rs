use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    score: f64,
}

fn main() {
    let _ = Doc::update().set(Doc::score, "x").all_rows();
}
