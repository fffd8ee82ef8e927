use std::collections::HashMap;

#[derive(Debug, Clone, PartialEq)]
pub struct Stats {
    pub words: usize,
}

pub fn count_words(text: &str) -> HashMap<String, i64> {
    let mut counts: HashMap<String, i64> = HashMap::new();
    for word in text.split_whitespace() {
        *counts.entry(word.to_string()).or_insert(0) += 1;
    }
    counts
}
