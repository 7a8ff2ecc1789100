//! The search evaluation shared by the floor test (`tests/it/search_eval.rs`) and the
//! benchmark (`benches/search.rs`): citizen queries from `commune-queries.tsv` run against
//! a catalog by our engine and by two SQLite FTS5 peers, scored per category as recall@1,
//! recall@3 and MRR (over the top 10).
//!
//! The peers are what a fair engineer would build with FTS5 alone: `unicode61
//! remove_diacritics 2` with every word a prefix, all words required (AND) and, when that
//! finds nothing, any word (OR), in bm25 order; and the `trigram` tokenizer (substrings of 3+
//! characters) with the same AND→OR fallback. They index the same catalog text as ours
//! (code, Vietnamese and English name, keywords, field name) without our lexicon. An engine
//! answers "not here" when it returns nothing (FTS5) or says so (ours); a not-here query
//! counts as found at rank 1 when the answer is "not here", and an in-catalog query
//! answered "not here" counts as missed.

use std::collections::BTreeMap;

use motcua::catalog::{CatalogBundle, Procedure};
use motcua::search::SearchIndex;
use rusqlite::Connection;

/// Results looked at per query.
pub const DEPTH: usize = 10;

/// The query file, relative to the repository.
pub const QUERIES_TSV: &str = "tests/search-eval/commune-queries.tsv";

/// One citizen query and what should answer it.
#[derive(Debug, Clone)]
pub struct Query {
    pub category: String,
    pub text: String,
    /// Any of these codes; `None`: the center does not handle it.
    pub expected: Option<Vec<String>>,
}

/// Reads the TSV (category, query, codes or `-`); `#` lines are comments.
pub fn load_queries(tsv: &str) -> Vec<Query> {
    tsv.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let cols: Vec<&str> = l.split('\t').collect();
            assert_eq!(cols.len(), 3, "bad query line: {l:?}");
            Query {
                category: cols[0].to_owned(),
                text: cols[1].to_owned(),
                expected: (cols[2] != "-").then(|| cols[2].split(' ').map(str::to_owned).collect()),
            }
        })
        .collect()
}

/// What an engine answered.
pub struct Answer {
    /// Document ids, best first (at most [`DEPTH`]).
    pub ranked: Vec<usize>,
    pub not_here: bool,
}

pub trait Engine {
    fn name(&self) -> &str;
    fn answer(&self, query: &str) -> Answer;
}

/// Our engine.
pub struct Ours(pub SearchIndex);

impl Engine for Ours {
    fn name(&self) -> &str {
        "motcua"
    }
    fn answer(&self, query: &str) -> Answer {
        let o = self.0.answer(query, DEPTH);
        Answer {
            not_here: !o.found(),
            ranked: o.hits.into_iter().map(|h| h.doc).collect(),
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tokenizer {
    Unicode61,
    Trigram,
}

/// SQLite FTS5 with AND→OR fallback in bm25 order.
pub struct Fts5 {
    pub tokenizer: Tokenizer,
    conn: Connection,
}

impl Fts5 {
    pub fn build(tokenizer: Tokenizer, bundle: &CatalogBundle) -> Fts5 {
        let conn = Connection::open_in_memory().expect("in-memory SQLite");
        let spec = match tokenizer {
            Tokenizer::Unicode61 => "unicode61 remove_diacritics 2",
            Tokenizer::Trigram => "trigram remove_diacritics 1",
        };
        conn.execute_batch(&format!(
            "CREATE VIRTUAL TABLE p USING fts5(code, name_vi, name_en, keywords, field, tokenize = '{spec}');"
        ))
        .expect("FTS5 table (is SQLite built with FTS5?)");
        let tx = conn.unchecked_transaction().expect("transaction");
        {
            let mut insert = tx
                .prepare("INSERT INTO p(rowid, code, name_vi, name_en, keywords, field) VALUES (?1, ?2, ?3, ?4, ?5, ?6)")
                .expect("insert");
            for (doc, p) in bundle.procedures.iter().enumerate() {
                let field = bundle.field(&p.field).map_or("", |f| f.name.vi.as_str());
                insert
                    .execute((
                        doc as i64,
                        &p.code,
                        &p.name.vi,
                        p.name.en.as_deref().unwrap_or(""),
                        p.keywords.join(" ; "),
                        field,
                    ))
                    .expect("insert row");
            }
        }
        tx.commit().expect("commit");
        Fts5 { tokenizer, conn }
    }

    /// The citizen's words, each quoted (no query syntax leaks in): prefixes for unicode61,
    /// substrings of 3+ characters for trigram; joined by `op`.
    fn expr(&self, query: &str, op: &str) -> String {
        let words = query
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty());
        let terms: Vec<String> = match self.tokenizer {
            Tokenizer::Unicode61 => words.map(|w| format!("\"{w}\"*")).collect(),
            Tokenizer::Trigram => words
                .filter(|w| w.chars().count() >= 3)
                .map(|w| format!("\"{w}\""))
                .collect(),
        };
        terms.join(op)
    }

    fn run(&self, expr: &str) -> Vec<usize> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT rowid FROM p WHERE p MATCH ?1 ORDER BY bm25(p) LIMIT ?2")
            .expect("query");
        let rows = stmt
            .query_map((expr, DEPTH as i64), |r| r.get::<_, i64>(0))
            .expect("run query");
        rows.map(|r| r.expect("rowid") as usize).collect()
    }
}

impl Engine for Fts5 {
    fn name(&self) -> &str {
        match self.tokenizer {
            Tokenizer::Unicode61 => "FTS5 unicode61",
            Tokenizer::Trigram => "FTS5 trigram",
        }
    }
    fn answer(&self, query: &str) -> Answer {
        let and = self.expr(query, " AND ");
        if and.is_empty() {
            return Answer {
                ranked: Vec::new(),
                not_here: true,
            };
        }
        let mut ranked = self.run(&and);
        if ranked.is_empty() {
            ranked = self.run(&self.expr(query, " OR "));
        }
        Answer {
            not_here: ranked.is_empty(),
            ranked,
        }
    }
}

/// Scores of one category (or all).
#[derive(Debug, Default, Clone, Copy)]
pub struct Tally {
    pub queries: usize,
    pub at1: usize,
    pub at3: usize,
    pub rr: f64,
}

impl Tally {
    fn add(&mut self, rank: Option<usize>) {
        self.queries += 1;
        if let Some(r) = rank {
            self.at1 += usize::from(r == 1);
            self.at3 += usize::from(r <= 3);
            self.rr += 1.0 / r as f64;
        }
    }
    pub fn recall1(&self) -> f64 {
        100.0 * self.at1 as f64 / self.queries.max(1) as f64
    }
    pub fn recall3(&self) -> f64 {
        100.0 * self.at3 as f64 / self.queries.max(1) as f64
    }
    pub fn mrr(&self) -> f64 {
        self.rr / self.queries.max(1) as f64
    }
}

/// Rank (1-based) of the expected answer, or `None` when missed.
pub fn rank(q: &Query, a: &Answer, procs: &[Procedure]) -> Option<usize> {
    match &q.expected {
        None => a.not_here.then_some(1),
        Some(_) if a.not_here => None,
        Some(codes) => a
            .ranked
            .iter()
            .position(|&d| codes.iter().any(|c| *c == procs[d].code))
            .map(|r| r + 1),
    }
}

/// Per category, plus `"all"`.
pub fn evaluate(e: &dyn Engine, queries: &[Query], procs: &[Procedure]) -> BTreeMap<String, Tally> {
    let mut out: BTreeMap<String, Tally> = BTreeMap::new();
    for q in queries {
        let r = rank(q, &e.answer(&q.text), procs);
        out.entry(q.category.clone()).or_default().add(r);
        out.entry("all".into()).or_default().add(r);
    }
    out
}

/// Queries that can be asked of `bundle`: not-here ones, and those with an expected code in
/// it (restricted to those codes).
pub fn applicable(queries: &[Query], bundle: &CatalogBundle) -> Vec<Query> {
    queries
        .iter()
        .filter_map(|q| match &q.expected {
            None => Some(q.clone()),
            Some(codes) => {
                let here: Vec<String> = codes
                    .iter()
                    .filter(|c| bundle.procedure(c).is_some())
                    .cloned()
                    .collect();
                (!here.is_empty()).then(|| Query {
                    expected: Some(here),
                    ..q.clone()
                })
            }
        })
        .collect()
}

/// A Markdown table: one row per category, recall@1 / recall@3 / MRR per engine.
pub fn table(engines: &[&str], results: &[BTreeMap<String, Tally>]) -> String {
    let mut s = String::from("| category | queries |");
    for e in engines {
        s += &format!(" {e} R@1 | {e} R@3 | {e} MRR |");
    }
    s += "\n|---|---|";
    s += &"---|---|---|".repeat(engines.len());
    s += "\n";
    let mut cats: Vec<&String> = results[0].keys().filter(|k| *k != "all").collect();
    let all = "all".to_string();
    cats.push(&all);
    for c in cats {
        let n = results[0][c].queries;
        let label = if *c == "all" {
            "**all**".to_string()
        } else {
            c.clone()
        };
        s += &format!("| {label} | {n} |");
        for r in results {
            let t = r[c];
            s += &format!(
                " {:.0}% | {:.0}% | {:.2} |",
                t.recall1(),
                t.recall3(),
                t.mrr()
            );
        }
        s += "\n";
    }
    s
}
