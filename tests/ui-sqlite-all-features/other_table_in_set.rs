use doctable::DocTable;

#[derive(DocTable)]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    year: i64,
}

#[derive(DocTable)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    born: i64,
}

fn main() {
    let _ = Doc::update().set(Author::born, 1900).all_rows();
}
