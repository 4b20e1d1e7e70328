use doctable::DocTable;

#[derive(serde::Serialize, serde::Deserialize)]
struct Meta {
    words: u32,
}

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(file)]
    meta: Meta,
}

fn main() {}
