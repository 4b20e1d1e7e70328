use doctable::DocTable;

#[derive(DocTable)]
struct Author {
    #[doctable(primary_key)]
    id: Option<i64>,
    name: String,
}

#[derive(DocTable)]
struct Book {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references(Author::author_id))]
    author_id: i64,
}

fn main() {
    let _ = Book::author_id.eq(1);
}
