use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key, file)]
    id: String,
    #[doctable(file, default = "''")]
    body: String,
    #[doctable(file, check = "length(text) > 0")]
    text: String,
    #[doctable(file, skip)]
    cache: Vec<u8>,
    #[doctable(file = "x")]
    other: Vec<u8>,
}

fn main() {}
