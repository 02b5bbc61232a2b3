//! Per-language text analysis for the knowledge base and ticket search.
//!
//! One word tokenizer does the folding every language shares (lower case, ё→е,
//! Arabic→Persian letters, joiners dropped) and keeps byte offsets into the
//! original text so snippets can highlight the source. Language specifics are
//! layered on top: tantivy's Snowball stemmers for en/ru, small hand-written
//! strippers for uk/fa (no Snowball stemmer exists for either), and a word
//! trigram stream for Ukrainian to catch the forms the light stripper misses.
//! Ticket messages come without a language, so the ticket index uses a mixed
//! analyzer that picks the language of each word by its alphabet.

use tantivy::tokenizer::{Language, Stemmer, StopWordFilter, TextAnalyzer, Token, TokenStream, Tokenizer};

pub use super::stem::{fa_variants, is_stop_word, stem_fa, stem_uk};

/// The languages that get their own fields. Anything else is analysed as `En`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    En,
    Ru,
    Uk,
    Fa,
}

pub const LANGS: [Lang; 4] = [Lang::En, Lang::Ru, Lang::Uk, Lang::Fa];

impl Lang {
    /// Known codes only; callers decide what an unknown code means.
    pub fn parse(code: &str) -> Option<Lang> {
        match code.trim().to_ascii_lowercase().as_str() {
            "en" => Some(Lang::En),
            "ru" => Some(Lang::Ru),
            "uk" | "ua" => Some(Lang::Uk),
            "fa" => Some(Lang::Fa),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ru => "ru",
            Lang::Uk => "uk",
            Lang::Fa => "fa",
        }
    }

    /// Name under which the analyzer is registered. The version suffix ends up
    /// in the schema, so changing analysis (and bumping it) forces a rebuild of
    /// an on-disk index instead of silently mixing old and new terms.
    pub fn tokenizer_name(self) -> &'static str {
        match self {
            Lang::En => "kb_en_v1",
            Lang::Ru => "kb_ru_v1",
            Lang::Uk => "kb_uk_v1",
            Lang::Fa => "kb_fa_v2",
        }
    }

    /// The writing system of the language; fuzzy expansion is only worth doing
    /// where the query term is written in the same script as the field.
    pub fn script(self) -> Script {
        match self {
            Lang::En => Script::Latin,
            Lang::Ru | Lang::Uk => Script::Cyrillic,
            Lang::Fa => Script::Arabic,
        }
    }
}

pub const NGRAM_TOKENIZER: &str = "kb_ngram_v1";
/// The ticket index's analyzer (see `mixed_analyzer`); versioned like the others.
pub const MIXED_TOKENIZER: &str = "mixed_v2";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Script {
    Latin,
    Cyrillic,
    Arabic,
    Other,
}

pub fn script_of(term: &str) -> Script {
    match term.chars().find(|c| c.is_alphabetic()) {
        Some(c) if c.is_ascii() => Script::Latin,
        Some('\u{0400}'..='\u{04FF}') => Script::Cyrillic,
        Some('\u{0600}'..='\u{06FF}') | Some('\u{FB50}'..='\u{FDFF}') => Script::Arabic,
        _ => Script::Other,
    }
}

/// Characters that belong inside a word but carry no meaning for search:
/// apostrophes (Ukrainian м'ята, English don't), Persian ZWNJ (سفارش‌ها),
/// ZWJ, tatweel, soft hyphen and Arabic diacritics.
fn is_joiner(c: char) -> bool {
    matches!(
        c,
        '\'' | '\u{2019}' | '\u{02BC}' | '\u{200C}' | '\u{200D}' | '\u{0640}' | '\u{00AD}'
    ) || is_mark(c)
}

fn is_mark(c: char) -> bool {
    matches!(c, '\u{064B}'..='\u{065F}' | '\u{0670}' | '\u{0300}'..='\u{036F}')
}

/// Folds one character the way every analyzer does; pushes nothing for
/// characters that are dropped.
pub fn fold_char(c: char, out: &mut String) {
    match c {
        _ if is_joiner(c) && c != '\'' && c != '\u{2019}' && c != '\u{02BC}' => {}
        'ё' | 'Ё' => out.push('е'),
        'ي' | 'ى' => out.push('ی'),
        'ك' => out.push('ک'),
        'ة' | 'ۀ' => out.push('ه'),
        'أ' | 'إ' | 'ٱ' => out.push('ا'),
        '\u{06F0}'..='\u{06F9}' => out.push(char::from(b'0' + (c as u32 - 0x06F0) as u8)),
        '\u{0660}'..='\u{0669}' => out.push(char::from(b'0' + (c as u32 - 0x0660) as u8)),
        _ if c.is_ascii() => out.push(c.to_ascii_lowercase()),
        // Lower-casing can produce combining marks (İ → i + U+0307); drop them
        // so folding twice gives the same result as folding once.
        _ => out.extend(c.to_lowercase().filter(|l| !is_mark(*l))),
    }
}

/// Folded form of one word: as `fold_char`, apostrophes dropped too, and the
/// Persian spellings that vary between writers made one: آ as ا (ادرس,
/// آدرس), hamza seats as their plain letters (سوئیس, سوییس), a lone hamza
/// dropped, Urdu heh as heh.
fn fold_word(word: &str, out: &mut String) {
    out.clear();
    for c in word.chars() {
        match c {
            'آ' => out.push('ا'),
            'ئ' => out.push('ی'),
            'ؤ' => out.push('و'),
            'ھ' => out.push('ه'),
            'ء' => {}
            _ if !is_joiner(c) => fold_char(c, out),
            _ => {}
        }
    }
}

/// Splits text into words (alphanumeric runs, joiners allowed inside) and
/// yields them folded, with byte offsets into the original text. Stop words and
/// the uk/fa stemming happen here because they need the folded word anyway.
#[derive(Clone)]
pub struct WordTokenizer {
    lang: Lang,
    ngrams: bool,
    /// Each word's language from its alphabet (`word_lang`) instead of `lang`.
    mixed: bool,
}

pub struct WordStream<'a> {
    text: &'a str,
    pos: usize,
    position: usize,
    lang: Lang,
    ngrams: bool,
    mixed: bool,
    pending: Vec<Token>,
    token: Token,
    /// The previous word was a Persian verb prefix written apart (می فرستید).
    verb_prefix: bool,
}

impl Tokenizer for WordTokenizer {
    type TokenStream<'a> = WordStream<'a>;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> WordStream<'a> {
        WordStream {
            text,
            pos: 0,
            position: 0,
            lang: self.lang,
            ngrams: self.ngrams,
            mixed: self.mixed,
            pending: Vec::new(),
            token: Token::default(),
            verb_prefix: false,
        }
    }
}

impl WordStream<'_> {
    /// Next raw word as (start, end) byte offsets, joiners trimmed from the ends.
    fn next_word(&mut self) -> Option<(usize, usize)> {
        let rest = &self.text[self.pos..];
        let mut start = None;
        let mut end = self.pos;
        for (i, c) in rest.char_indices() {
            let abs = self.pos + i;
            if c.is_alphanumeric() {
                if start.is_none() {
                    start = Some(abs);
                }
                end = abs + c.len_utf8();
            } else if is_joiner(c) && start.is_some() {
                continue;
            } else if start.is_some() {
                self.pos = abs;
                return start.map(|s| (s, end));
            }
        }
        self.pos = self.text.len();
        start.map(|s| (s, end))
    }
}

impl WordStream<'_> {
    /// Persian writes compounds both joined by ZWNJ (پیش‌خرید, ثبت‌نام) and
    /// with a space (پیش خرید): besides the joined form, also emit the parts
    /// at the same position so either spelling finds the other.
    fn push_zwnj_parts(&mut self, from: usize, to: usize) {
        let raw = &self.text[from..to];
        if !raw.contains('\u{200C}') {
            return;
        }
        let mut part = String::new();
        // A verb's می‌/نمی‌: the joined form is already its stem.
        if let Some(first) = raw.split('\u{200C}').next() {
            fold_word(first, &mut part);
            if part == "می" || part == "نمی" {
                return;
            }
        }
        let mut offset = from;
        for piece in raw.split('\u{200C}') {
            fold_word(piece, &mut part);
            if part.chars().count() >= 2 && !is_stop_word(Lang::Fa, &part) {
                self.pending.push(Token {
                    offset_from: offset,
                    offset_to: offset + piece.len(),
                    position: self.position,
                    text: stem_fa(&part),
                    position_length: 1,
                });
            }
            offset += piece.len() + '\u{200C}'.len_utf8();
        }
    }
}

impl TokenStream for WordStream<'_> {
    fn advance(&mut self) -> bool {
        if let Some(t) = self.pending.pop() {
            self.token = t;
            return true;
        }
        let mut word = String::new();
        while let Some((from, to)) = self.next_word() {
            fold_word(&self.text[from..to], &mut word);
            let lang = if self.mixed { word_lang(&word) } else { self.lang };
            // می/نمی written apart from their verb: stem the verb as if joined.
            let after_prefix = std::mem::take(&mut self.verb_prefix);
            if lang == Lang::Fa && !self.ngrams && (word == "می" || word == "نمی") {
                self.verb_prefix = true;
                continue;
            }
            if after_prefix && lang == Lang::Fa && !self.ngrams && word.chars().count() >= 2 {
                word.insert_str(0, "می");
            }
            // Tokens longer than this are hashes or garbage, not words.
            if word.chars().count() > 40
                || is_stop_word(lang, &word)
                || (self.mixed && lang == Lang::Ru && is_stop_word(Lang::Uk, &word))
            {
                continue;
            }
            if self.ngrams {
                let grams = trigrams(&word);
                for g in grams.into_iter().rev() {
                    self.pending.push(Token {
                        offset_from: from,
                        offset_to: to,
                        position: self.position,
                        text: g,
                        position_length: 1,
                    });
                    self.position += 1;
                }
                if let Some(t) = self.pending.pop() {
                    self.token = t;
                    return true;
                }
                continue;
            }
            let text = match lang {
                Lang::Uk => stem_uk(&word),
                Lang::Fa => {
                    self.push_zwnj_parts(from, to);
                    stem_fa(&word)
                }
                _ => word,
            };
            self.token = Token {
                offset_from: from,
                offset_to: to,
                position: self.position,
                text,
                position_length: 1,
            };
            self.position += 1;
            return true;
        }
        false
    }
    fn token(&self) -> &Token {
        &self.token
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.token
    }
}

/// Trigrams of a word padded with `_`, so the start and end of words weigh in;
/// words of one or two letters stay whole.
fn trigrams(word: &str) -> Vec<String> {
    let chars: Vec<char> = std::iter::once('_')
        .chain(word.chars())
        .chain(std::iter::once('_'))
        .collect();
    if chars.len() <= 4 {
        return vec![word.to_string()];
    }
    chars.windows(3).map(|w| w.iter().collect()).collect()
}

/// The language a folded word is most likely in, by its letters: і, ї, є, ґ
/// mark Ukrainian, other Cyrillic is taken as Russian (the two stemmers
/// agree on most shared forms), Arabic script as Persian, the rest English.
fn word_lang(word: &str) -> Lang {
    match script_of(word) {
        Script::Cyrillic if word.contains(['і', 'ї', 'є', 'ґ']) => Lang::Uk,
        Script::Cyrillic => Lang::Ru,
        Script::Arabic => Lang::Fa,
        _ => Lang::En,
    }
}

/// The analyzer for one language's title/body fields.
pub fn analyzer(lang: Lang) -> TextAnalyzer {
    let words = WordTokenizer {
        lang,
        ngrams: false,
        mixed: false,
    };
    match lang {
        Lang::En => TextAnalyzer::builder(words)
            .filter(StopWordFilter::new(Language::English).expect("english stop words"))
            .filter(Stemmer::new(Language::English))
            .build(),
        Lang::Ru => TextAnalyzer::builder(words)
            .filter(StopWordFilter::new(Language::Russian).expect("russian stop words"))
            .filter(Stemmer::new(Language::Russian))
            .build(),
        Lang::Uk | Lang::Fa => TextAnalyzer::builder(words).build(),
    }
}

/// The analyzer of the Ukrainian trigram field.
pub fn ngram_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer {
        lang: Lang::Uk,
        ngrams: true,
        mixed: false,
    })
    .build()
}

/// Text of unknown and often mixed language (a Russian message quoting an
/// English product name): every word is analysed as its alphabet's language.
/// Both Snowball stemmers run on every word, which works because each only
/// knows its own alphabet's endings and leaves other words as they are; uk
/// and fa words were already stemmed by the tokenizer.
pub fn mixed_analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(WordTokenizer {
        lang: Lang::En,
        ngrams: false,
        mixed: true,
    })
    .filter(StopWordFilter::new(Language::English).expect("english stop words"))
    .filter(StopWordFilter::new(Language::Russian).expect("russian stop words"))
    .filter(Stemmer::new(Language::English))
    .filter(Stemmer::new(Language::Russian))
    .build()
}

/// Analysed terms of `text`, in order, with their byte offsets.
pub fn analyze(analyzer: &mut TextAnalyzer, text: &str) -> Vec<Token> {
    let mut stream = analyzer.token_stream(text);
    let mut out = Vec::new();
    while stream.advance() {
        out.push(stream.token().clone());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(lang: Lang, text: &str) -> Vec<String> {
        analyze(&mut analyzer(lang), text).into_iter().map(|t| t.text).collect()
    }

    #[test]
    fn search_analysis_stems_per_language() {
        assert_eq!(terms(Lang::Ru, "заказы заказами Заказ"), ["заказ", "заказ", "заказ"]);
        assert_eq!(terms(Lang::Ru, "Ёлка"), terms(Lang::Ru, "елка"));
        assert_eq!(terms(Lang::En, "Deliveries delivered"), ["deliveri", "deliv"]);
        // The ZWNJ compound also yields its part (ها is a stop word).
        assert_eq!(terms(Lang::Fa, "سفارش‌ها سفارشها سفارشات سفارش"), ["سفارش"; 5]);
        assert_eq!(terms(Lang::Fa, "پیش‌خرید"), ["پیشخرید", "خرید", "پیش"]);
        assert_eq!(terms(Lang::Fa, "كيف"), ["کیف"]);
        assert_eq!(terms(Lang::Uk, "повернути повернення"), ["поверн", "поверн"]);
        assert_eq!(terms(Lang::Uk, "товари товарів товар"), ["товар"; 3]);
        assert_eq!(terms(Lang::Uk, "пам'ять"), terms(Lang::Uk, "память"));
    }

    #[test]
    fn search_analysis_fa_spelling_variants_meet() {
        // آ with or without madda, hamza seats, Arabic letters, ZWNJ or not.
        assert_eq!(terms(Lang::Fa, "آدرس"), terms(Lang::Fa, "ادرس"));
        assert_eq!(terms(Lang::Fa, "سوئیس"), terms(Lang::Fa, "سوييس"));
        assert_eq!(terms(Lang::Fa, "مسؤول"), terms(Lang::Fa, "مسوول"));
        assert_eq!(terms(Lang::Fa, "ایمیلهای"), ["ایمیل"]);
        // With ZWNJ, the part comes too (at the same position).
        assert_eq!(terms(Lang::Fa, "ايميل\u{200c}هاي"), ["ایمیل", "ایمیل"]);
        // Verbs: the prefix joined, with ZWNJ or a space, and the colloquial
        // ending, all meet.
        assert_eq!(terms(Lang::Fa, "می‌فرستیم"), ["فرست"]);
        assert_eq!(terms(Lang::Fa, "میفرستن"), ["فرست"]);
        assert_eq!(terms(Lang::Fa, "می فرستید"), ["فرست"]);
        assert_eq!(terms(Lang::Fa, "نمی فرستید سفارش"), ["فرست", "سفارش"]);
        assert_eq!(terms(Lang::Fa, "میکنید"), terms(Lang::Fa, "میکنن"));
        // Persian and Arabic-Indic digits are plain digits.
        assert_eq!(terms(Lang::Fa, "۱۴ ١٤"), ["14", "14"]);
    }

    #[test]
    fn search_analysis_mixed_stems_each_word_by_its_alphabet() {
        let mixed = |text: &str| -> Vec<String> {
            analyze(&mut mixed_analyzer(), text)
                .into_iter()
                .map(|t| t.text)
                .collect()
        };
        assert_eq!(
            mixed("Refunds for заказы"),
            [
                terms(Lang::En, "refunds")[0].clone(),
                terms(Lang::Ru, "заказы")[0].clone()
            ]
        );
        assert_eq!(mixed("refund"), mixed("refunds"));
        assert_eq!(mixed("товарів"), mixed("товар"));
        assert_eq!(mixed("Ёлка"), mixed("елка"));
        assert_eq!(mixed("سفارش‌ها"), ["سفارش", "سفارش"]);
        assert_eq!(mixed("كيف"), ["کیف"]);
        // Stop words of every language go; numbers and mail addresses stay searchable.
        assert!(mixed("the and и та و").is_empty(), "{:?}", mixed("the and и та و"));
        assert_eq!(mixed("#1042 ann@shop.test"), ["1042", "ann", "shop", "test"]);
        // Neither Snowball stemmer touches the other's alphabet.
        assert_eq!(
            mixed("deliveries доставки"),
            [
                terms(Lang::En, "deliveries")[0].clone(),
                terms(Lang::Ru, "доставки")[0].clone()
            ]
        );
    }

    #[test]
    fn search_analysis_offsets_point_into_source() {
        let text = "Ваши «заказы» — здесь";
        for t in analyze(&mut analyzer(Lang::Ru), text) {
            assert!(text.is_char_boundary(t.offset_from) && text.is_char_boundary(t.offset_to));
        }
        let grams: Vec<String> = analyze(&mut ngram_analyzer(), "товар")
            .into_iter()
            .map(|t| t.text)
            .collect();
        assert_eq!(grams, ["_то", "тов", "ова", "вар", "ар_"]);
    }
}
