use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(check = "")]
    score: f64,
}

fn main() {
    let _ = Doc::score.gt(0.5);
}
