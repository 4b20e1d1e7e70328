use doctable::DocTable;

#[derive(DocTable)]
#[doctable(primary_key(lang, word))]
struct Word {
    #[doctable(primary_key)]
    lang: String,
    word: String,
}

fn main() {}
