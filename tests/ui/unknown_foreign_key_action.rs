use doctable::DocTable;

#[derive(DocTable)]
struct Book {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(references = "author(id)", on_delete = "explode")]
    author_id: i64,
}

fn main() {}
