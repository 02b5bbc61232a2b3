//! Behaviour and relevance tests of the knowledge-base index. Names start
//! with `search_` so `cargo nextest run -E 'test(search)'` picks them up.

use std::collections::BTreeMap;

use proptest::prelude::*;

use super::analysis::LANGS;
use super::fixture::{self, doc_id};
use super::{normalize_query, KbDoc, KbIndex};

fn doc(id: i64, workspace_id: i64, language: &str, title: &str, body: &str) -> KbDoc {
    KbDoc {
        id,
        workspace_id,
        language: language.into(),
        title: title.into(),
        body: body.into(),
        tags: vec![],
        phrasings: vec![],
        url: format!("/kb/{id}"),
    }
}

fn ids(index: &KbIndex, ws: i64, q: &str, lang: &str) -> Vec<i64> {
    index
        .search(ws, q, lang, 10)
        .unwrap()
        .into_iter()
        .map(|h| h.id)
        .collect()
}

/// Top-1 and top-3 accuracy of the fixture's user questions, per language.
#[test]
fn search_relevance_faq() {
    let articles = fixture::articles().unwrap();
    assert_eq!(articles.len(), 30);
    let index = KbIndex::open(None).unwrap();
    index.upsert_many(fixture::docs(&articles, 1)).unwrap();
    assert_eq!(index.doc_count(), 120);
    let key_of = |id: i64| articles[(id as usize - 1) / 10].key.clone();

    let mut stats: BTreeMap<&str, (usize, usize, usize)> = BTreeMap::new();
    let mut misses = Vec::new();
    for q in fixture::questions().unwrap() {
        assert!(
            articles.iter().any(|a| a.key == q.expect),
            "unknown article {}",
            q.expect
        );
        let hits = index.search(1, &q.text, q.lang, 3).unwrap();
        let keys: Vec<String> = hits.iter().map(|h| key_of(h.id)).collect();
        let s = stats.entry(q.lang).or_default();
        s.0 += 1;
        s.1 += usize::from(keys.first() == Some(&q.expect));
        s.2 += usize::from(keys.contains(&q.expect));
        if keys.first() != Some(&q.expect) {
            misses.push(format!(
                "  [{}] {:?}: want {}, got {:?}",
                q.lang, q.text, q.expect, keys
            ));
        }
        // Same-language articles come first, other languages only after them.
        let first_other = hits.iter().position(|h| h.language != q.lang).unwrap_or(hits.len());
        assert!(hits[first_other..].iter().all(|h| h.language != q.lang), "{:?}", q.text);
    }
    eprintln!("questions not answered first:\n{}", misses.join("\n"));
    for lang in LANGS {
        let (n, top1, top3) = stats[lang.code()];
        let (a1, a3) = (top1 as f64 / n as f64, top3 as f64 / n as f64);
        eprintln!("relevance {}: {n} questions, top-1 {a1:.2}, top-3 {a3:.2}", lang.code());
        assert!(n >= 20, "{}: only {n} questions", lang.code());
        assert!(a3 >= 0.8, "{}: top-3 accuracy {a3:.2} < 0.8", lang.code());
    }
}

#[test]
fn search_workspace_isolation() {
    let index = KbIndex::open(None).unwrap();
    index
        .upsert(doc(1, 1, "en", "Refund timing", "Refunds take five days."))
        .unwrap();
    index
        .upsert(doc(2, 2, "en", "Refund timing", "Refunds take five days."))
        .unwrap();
    assert_eq!(ids(&index, 1, "refund", "en"), [1]);
    assert_eq!(ids(&index, 2, "refund", "en"), [2]);
    assert!(ids(&index, 3, "refund", "en").is_empty());
}

#[test]
fn search_language_first_then_fallback() {
    let articles = fixture::articles().unwrap();
    let index = KbIndex::open(None).unwrap();
    index.upsert_many(fixture::docs(&articles, 1)).unwrap();
    // A Russian question in the English UI still finds the Russian article...
    let hits = index.search(1, "вернуть деньги за возврат", "en", 10).unwrap();
    assert!(hits.iter().any(|h| h.language == "ru"));
    // ...and the same-language article of a topic outranks the others.
    index
        .upsert(doc(900, 1, "ru", "Подарочная упаковка", "Упакуем подарок в коробку."))
        .unwrap();
    let hits = index.search(1, "подарок упаковка", "fa", 10).unwrap();
    assert_eq!(
        hits.first().map(|h| h.id),
        Some(900),
        "fallback to ru when fa has nothing"
    );
    let hits = index.search(1, "refund", "uk", 10).unwrap();
    assert!(!hits.is_empty());
    let first_other = hits.iter().position(|h| h.language != "uk").unwrap_or(hits.len());
    assert!(
        hits[first_other..].iter().all(|h| h.language != "uk"),
        "uk hits first, then the rest"
    );
    // Unknown language: analysed as English, every language searched.
    let hits = index.search(1, "refund", "de", 10).unwrap();
    assert!(hits.iter().any(|h| h.language == "en"));
    assert!(!ids(&index, 1, "повернення коштів", "xx").is_empty());
}

#[test]
fn search_delete_and_replace() {
    let index = KbIndex::open(None).unwrap();
    index
        .upsert(doc(1, 1, "en", "Gift cards", "Gift cards never expire."))
        .unwrap();
    index
        .upsert(doc(2, 1, "en", "Warranty", "Two years of warranty."))
        .unwrap();
    assert_eq!(index.doc_count(), 2);
    index
        .upsert(doc(1, 1, "en", "Lamps", "Lamps come with a bulb."))
        .unwrap();
    assert_eq!(index.doc_count(), 2);
    assert!(ids(&index, 1, "gift cards", "en").is_empty());
    let hits = index.search(1, "lamp", "en", 10).unwrap();
    assert_eq!((hits[0].id, hits[0].title.as_str()), (1, "Lamps"));
    index.delete(1).unwrap();
    assert!(ids(&index, 1, "voucher", "en").is_empty());
    assert_eq!(index.doc_count(), 1);
    index.clear().unwrap();
    assert_eq!(index.doc_count(), 0);
    assert!(ids(&index, 1, "warranty", "en").is_empty());
}

#[test]
fn search_snippets_escape_and_mark() {
    let index = KbIndex::open(None).unwrap();
    let body = "Paste <script>alert('x')</script> into the promo code field & nothing happens.";
    index.upsert(doc(1, 1, "en", "Promo codes", body)).unwrap();
    let hit = &index.search(1, "promo code", "en", 5).unwrap()[0];
    assert!(
        hit.snippet.contains("&lt;script&gt;") && !hit.snippet.contains("<script>"),
        "{}",
        hit.snippet
    );
    assert!(
        hit.snippet.contains("<mark>promo</mark> <mark>code</mark>"),
        "{}",
        hit.snippet
    );
    assert!(
        hit.score > 0.0 && hit.score < 100.0,
        "language bonus is not reported: {}",
        hit.score
    );
}

#[test]
fn search_typos_and_title_boost() {
    let index = KbIndex::open(None).unwrap();
    index
        .upsert(doc(1, 1, "en", "Warranty", "What the manufacturer covers."))
        .unwrap();
    index
        .upsert(doc(2, 1, "en", "Repairs", "Repairs outside the warranty are paid."))
        .unwrap();
    index.upsert(doc(3, 1, "en", "Warrant", "Legal notes.")).unwrap();
    // Title beats body for the exact term, and the exact term beats a fuzzy one.
    assert_eq!(ids(&index, 1, "warranty", "en")[..2], [1, 2]);
    assert_eq!(ids(&index, 1, "waranty", "en").first(), Some(&1));
    index
        .upsert(doc(4, 1, "ru", "Гарантия", "Гарантия на технику два года."))
        .unwrap();
    assert_eq!(ids(&index, 1, "гарантея", "ru"), [4]);
}

#[test]
fn search_persian_colloquial_forms_find_written_articles() {
    let index = KbIndex::open(None).unwrap();
    index
        .upsert(doc(
            1,
            1,
            "fa",
            "بازگشت پول",
            "پول شما ظرف پنج روز به کارت برگردانده می‌شود.",
        ))
        .unwrap();
    index
        .upsert(doc(2, 1, "fa", "جعبه اصلی", "جعبه اصلی برای گارانتی لازم نیست."))
        .unwrap();
    index
        .upsert(doc(
            3,
            1,
            "fa",
            "تطبیق قیمت",
            "اگر فروشگاه دیگری ارزان‌تر بفروشد، قیمت را کم می‌کنیم.",
        ))
        .unwrap();
    // Enclitics (پولمو, جعبشو), a colloquial vowel (ارزونتر), Arabic letters.
    assert_eq!(ids(&index, 1, "پولمو كي ميگيرم", "fa").first(), Some(&1));
    assert_eq!(ids(&index, 1, "جعبشو انداختیم دور", "fa").first(), Some(&2));
    assert_eq!(ids(&index, 1, "جای دیگه ارزونتره", "fa").first(), Some(&3));
    // The plainer form is only a fallback: a word the index knows is not cut.
    index.upsert(doc(4, 1, "fa", "سفارشم", "سفارشم")).unwrap();
    assert_eq!(ids(&index, 1, "سفارشم", "fa").first(), Some(&4));
}

#[test]
fn search_long_question_with_a_typo() {
    let index = KbIndex::open(None).unwrap();
    index
        .upsert(doc(
            1,
            1,
            "ru",
            "Восстановление пароля",
            "Ссылка для смены пароля приходит за минуту.",
        ))
        .unwrap();
    index
        .upsert(doc(
            2,
            1,
            "ru",
            "Доставка",
            "Курьер приходит утром, смена адреса бесплатна.",
        ))
        .unwrap();
    // Too long for every word to be expanded; the unknown word still is.
    let q = "добрый день вчера вечером забыла свой пороль от аккаунта на сайте магазина что делать";
    assert_eq!(ids(&index, 1, q, "ru").first(), Some(&1));
}

#[test]
fn search_bad_input_is_ok() {
    let index = KbIndex::open(None).unwrap();
    index
        .upsert_many(fixture::docs(&fixture::articles().unwrap(), 1))
        .unwrap();
    for q in [
        "",
        "   \n\t",
        "\"AND OR ( ) * ~ ^ : [ ] { }",
        "title:foo AND -bar~2^3",
        "\\",
        "\u{200c}",
        "the of and",
    ] {
        index.search(1, q, "en", 10).unwrap();
    }
    assert!(index.search(1, "  ", "en", 10).unwrap().is_empty());
    let huge = "delivery refund promo ".repeat(500);
    assert!(huge.len() > 10_000);
    assert!(!index.search(1, &huge, "en", 10).unwrap().is_empty());
    index.search(1, "refund", "klingon", 10).unwrap();
    index.search(1, "refund", "", 0).unwrap();
    index.search(i64::MIN, "refund", "en", usize::MAX).unwrap();
}

#[test]
fn search_normalize_query() {
    assert_eq!(normalize_query("  Где  МОЙ\tЗаказ? "), "где мой заказ?");
    assert_eq!(normalize_query("Ёлка"), "елка");
    assert_eq!(normalize_query("سفارش\u{200c}هاي كتاب"), "سفارشهای کتاب");
    assert_eq!(normalize_query(&"ж".repeat(1000)).chars().count(), 200);
    assert_eq!(normalize_query(" \n "), "");
}

#[test]
fn search_on_disk_reopen_and_schema_change() {
    let dir = tempfile::tempdir().unwrap();
    {
        let index = KbIndex::open(Some(dir.path())).unwrap();
        index.upsert(doc(1, 1, "en", "Warranty", "Two years.")).unwrap();
    }
    let index = KbIndex::open(Some(dir.path())).unwrap();
    assert_eq!(index.doc_count(), 1, "reopened with its documents");
    drop(index);
    // An index written with another schema is recreated empty.
    let mut b = tantivy::schema::Schema::builder();
    b.add_text_field("other", tantivy::schema::TEXT);
    let foreign = tempfile::tempdir().unwrap();
    tantivy::Index::create_in_dir(foreign.path(), b.build()).unwrap();
    let index = KbIndex::open(Some(foreign.path())).unwrap();
    assert_eq!(index.doc_count(), 0);
    index.upsert(doc(1, 1, "en", "Warranty", "Two years.")).unwrap();
    assert_eq!(ids(&index, 1, "warranty", "en"), [1]);
    // Garbage where the index should be: recreated too.
    let broken = tempfile::tempdir().unwrap();
    std::fs::write(broken.path().join("meta.json"), b"{not json").unwrap();
    assert_eq!(KbIndex::open(Some(broken.path())).unwrap().doc_count(), 0);
}

#[test]
fn search_index_is_shareable() {
    fn assert_send_sync<T: Send + Sync + Clone>() {}
    assert_send_sync::<KbIndex>();
    assert_eq!(doc_id(2, 3), 24, "ids in failure messages decode as article 2, fa");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn search_proptest_arbitrary_input(q in any::<String>(), lang in "[a-z]{0,3}", ws in 0i64..3) {
        thread_local! {
            static INDEX: KbIndex = {
                let index = KbIndex::open(None).unwrap();
                index.upsert_many(fixture::docs(&fixture::articles().unwrap(), 1)).unwrap();
                index
            };
        }
        let n = normalize_query(&q);
        prop_assert!(n.chars().count() <= 200);
        prop_assert_eq!(normalize_query(&n), n.clone());
        INDEX.with(|index| index.search(ws, &q, &lang, 5).map(|_| ())).unwrap();
    }

    #[test]
    fn search_proptest_mixed_scripts(q in "[a-zа-яіїєґ\u{0600}-\u{06ff}\u{200c} \"'():*~^]{0,80}") {
        thread_local! {
            static INDEX: KbIndex = {
                let index = KbIndex::open(None).unwrap();
                index.upsert_many(fixture::docs(&fixture::articles().unwrap(), 1)).unwrap();
                index
            };
        }
        INDEX.with(|index| index.search(1, &q, "uk", 5).map(|_| ())).unwrap();
    }
}
