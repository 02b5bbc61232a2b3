//! Synonyms: groups of words and phrases a shopper uses for the same thing
//! (couch/sofa, ТТН/накладна, کد رهگیری/شماره پیگیری). Shipped lists for the
//! store domain per language (src/search/synonyms/*.txt) and the admin's own
//! per workspace. Applied to the query only: a query word that starts a
//! group's entry also searches the group's other entries, weighted below the
//! words the shopper typed, so articles need no reindexing when a list
//! changes.

use std::collections::HashMap;

use tantivy::tokenizer::TextAnalyzer;

use super::analysis::{self, Lang, LANGS};

/// Bounds on a group's parts (the number of groups a workspace keeps is
/// bounded in `domain::kb_learning`): they bound what a query grows into.
pub const MAX_ENTRIES: usize = 20;
pub const MAX_ENTRY_CHARS: usize = 60;

/// Analysed synonym groups of one language.
#[derive(Debug, Default, Clone)]
struct LangGroups {
    /// Each group's entries, each entry its stems in order.
    groups: Vec<Vec<Vec<String>>>,
    /// First stem of an entry → (group, entry) starting with it.
    by_first: HashMap<String, Vec<(usize, usize)>>,
}

/// Synonym groups per language, analysed the way the index analyses text.
#[derive(Debug, Default, Clone)]
pub struct Synonyms {
    langs: [LangGroups; 4],
}

impl Synonyms {
    /// The lists shipped for the store domain.
    pub fn builtin() -> Synonyms {
        let mut s = Synonyms::default();
        for (lang, text) in [
            (Lang::En, include_str!("synonyms/en.txt")),
            (Lang::Ru, include_str!("synonyms/ru.txt")),
            (Lang::Uk, include_str!("synonyms/uk.txt")),
            (Lang::Fa, include_str!("synonyms/fa.txt")),
        ] {
            for line in text.lines() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                s.add(lang, line.split(','));
            }
        }
        s
    }

    /// Adds one group in `lang` from its entries (words or phrases). Entries
    /// that analyse to nothing (stop words only) are dropped; a group left
    /// with fewer than two entries is not added.
    pub fn add<'a>(&mut self, lang: Lang, entries: impl IntoIterator<Item = &'a str>) {
        let mut analyzer = analysis::analyzer(lang);
        let mut group: Vec<Vec<String>> = Vec::new();
        for entry in entries.into_iter().take(MAX_ENTRIES) {
            let stems = stems(&mut analyzer, entry);
            if !stems.is_empty() && !group.contains(&stems) {
                group.push(stems);
            }
        }
        if group.len() < 2 {
            return;
        }
        let lg = &mut self.langs[lang_slot(lang)];
        let g = lg.groups.len();
        for (e, entry) in group.iter().enumerate() {
            lg.by_first.entry(entry[0].clone()).or_default().push((g, e));
        }
        lg.groups.push(group);
    }

    pub fn is_empty(&self) -> bool {
        self.langs.iter().all(|l| l.groups.is_empty())
    }

    /// For the analysed query `terms` in `lang`: the stems to add, each with
    /// its weight relative to a typed word (`weight` shared among the stems
    /// of a phrase). Only entries the query contains whole trigger their
    /// group; stems already in the query are not added again.
    pub fn expand(&self, lang: Lang, terms: &[String], weight: f32, out: &mut HashMap<String, f32>) {
        let lg = &self.langs[lang_slot(lang)];
        if lg.groups.is_empty() {
            return;
        }
        for (i, t) in terms.iter().enumerate() {
            let Some(starts) = lg.by_first.get(t) else { continue };
            for &(g, e) in starts {
                let entry = &lg.groups[g][e];
                if terms.len() < i + entry.len() || terms[i..i + entry.len()] != entry[..] {
                    continue;
                }
                for (other, stems) in lg.groups[g].iter().enumerate() {
                    if other == e {
                        continue;
                    }
                    let w = weight / stems.len() as f32;
                    for s in stems {
                        if terms.contains(s) {
                            continue;
                        }
                        let slot = out.entry(s.clone()).or_insert(0.0);
                        *slot = slot.max(w);
                    }
                }
            }
        }
    }
}

fn lang_slot(lang: Lang) -> usize {
    LANGS.iter().position(|l| *l == lang).unwrap_or(0)
}

fn stems(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
    let text: String = text.chars().take(MAX_ENTRY_CHARS).collect();
    analysis::analyze(analyzer, &text).into_iter().map(|t| t.text).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn expand(s: &Synonyms, lang: Lang, query: &str) -> Vec<String> {
        let terms = stems(&mut analysis::analyzer(lang), query);
        let mut out = HashMap::new();
        s.expand(lang, &terms, 0.5, &mut out);
        let mut v: Vec<String> = out.into_keys().collect();
        v.sort();
        v
    }

    #[test]
    fn search_synonyms_expand_words_and_phrases() {
        let mut s = Synonyms::default();
        s.add(Lang::En, ["sofa", "couch", "settee"]);
        s.add(Lang::En, ["tracking number", "waybill"]);
        assert_eq!(expand(&s, Lang::En, "my couches"), vec!["sette", "sofa"]);
        assert_eq!(expand(&s, Lang::En, "what is a waybill"), vec!["number", "track"]);
        // Half a phrase is not the phrase.
        assert!(expand(&s, Lang::En, "tracking my parcel").is_empty());
        assert_eq!(expand(&s, Lang::En, "my tracking number"), vec!["waybil"]);
        // Other languages' lists do not apply.
        assert!(expand(&s, Lang::Ru, "couch").is_empty());
    }

    #[test]
    fn search_synonyms_drop_empty_and_lone_entries() {
        let mut s = Synonyms::default();
        s.add(Lang::En, ["the", "sofa"]);
        assert!(s.is_empty(), "a group of one real entry is no group");
        s.add(Lang::Ru, ["ТТН", "накладная", "  "]);
        assert_eq!(expand(&s, Lang::Ru, "где моя ттн"), vec!["накладн"]);
    }

    #[test]
    fn search_synonyms_builtin_lists_parse_in_every_language() {
        let s = Synonyms::builtin();
        for lang in LANGS {
            assert!(
                s.langs[lang_slot(lang)].groups.len() >= 20,
                "{}: {} groups",
                lang.code(),
                s.langs[lang_slot(lang)].groups.len()
            );
        }
    }
}
