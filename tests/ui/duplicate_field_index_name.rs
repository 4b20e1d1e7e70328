use doctable::DocTable;

// A field's own index named like a struct-level one, and like another
// field's automatic name (names fold ASCII case, as SQLite's do).
#[derive(DocTable)]
#[doctable(index(by_year = [title]))]
struct Doc {
    #[doctable(primary_key)]
    id: Option<i64>,
    #[doctable(index = "by_year")]
    year: i64,
    #[doctable(index)]
    title: String,
    #[doctable(index = "IX_DOC_TITLE")]
    subtitle: String,
}

fn main() {
    let _ = Doc::year.gt(2000);
}
