//! TEMPORARY local stand-in until the search branch is merged (never committed).
use crate::catalog::Procedure;
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SearchHit {
    pub doc: usize,
    pub score: u32,
}
pub struct SearchIndex {
    names: Vec<String>,
}
impl SearchIndex {
    pub fn build(p: &[Procedure]) -> Self {
        SearchIndex {
            names: p.iter().map(|p| p.name.vi.to_lowercase()).collect(),
        }
    }
    pub fn search(&self, q: &str, limit: usize) -> Vec<SearchHit> {
        let q = q.to_lowercase();
        self.names
            .iter()
            .enumerate()
            .filter(|(_, n)| n.contains(&q))
            .take(limit)
            .map(|(doc, _)| SearchHit { doc, score: 1 })
            .collect()
    }
}
