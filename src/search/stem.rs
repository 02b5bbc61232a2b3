//! Stop words and the light stemmers for the languages tantivy has no
//! Snowball stemmer for (Ukrainian, Persian). Input is already folded
//! (lower case, ZWNJ and apostrophes dropped, Persian letters normalised).

use super::analysis::Lang;

// Stop words beyond tantivy's lists (the English one is Lucene's short list,
// which keeps question words that dominate user queries).
const EN_STOP: &[&str] = &[
    "i", "me", "my", "mine", "you", "your", "yours", "we", "our", "us", "he", "she", "him", "her", "his", "its", "do",
    "does", "did", "can", "could", "how", "what", "where", "when", "why", "which", "who", "am", "im", "ive", "id",
    "have", "has", "had", "would", "should", "from", "so", "any", "some", "just", "also", "too", "very", "here",
    "been", "were", "dont", "doesnt", "didnt", "cant", "wont", "isnt", "please", "hi", "hello", "thanks", "there",
    "all", "about",
];
const RU_STOP: &[&str] = &[
    "мою",
    "мои",
    "моего",
    "моих",
    "моей",
    "ваш",
    "ваша",
    "ваше",
    "вашего",
    "ваши",
    "вашей",
    "почему",
    "это",
    "нужно",
    "мне",
    "меня",
    "пожалуйста",
    "здравствуйте",
    "привет",
];
const UK_STOP: &[&str] = &[
    "і",
    "й",
    "та",
    "а",
    "але",
    "або",
    "чи",
    "в",
    "у",
    "на",
    "з",
    "із",
    "зі",
    "до",
    "від",
    "за",
    "по",
    "про",
    "при",
    "для",
    "без",
    "що",
    "як",
    "де",
    "коли",
    "чому",
    "це",
    "цей",
    "ця",
    "ці",
    "той",
    "я",
    "ми",
    "ви",
    "ти",
    "він",
    "вона",
    "вони",
    "мене",
    "мені",
    "мій",
    "моє",
    "моя",
    "мої",
    "мого",
    "моєї",
    "мою",
    "моїх",
    "ваш",
    "ваша",
    "ваше",
    "ваші",
    "вам",
    "вас",
    "нас",
    "нам",
    "не",
    "ні",
    "так",
    "же",
    "ж",
    "би",
    "б",
    "є",
    "був",
    "була",
    "було",
    "були",
    "буде",
    "можна",
    "треба",
    "якщо",
    "вже",
    "ще",
    "його",
    "її",
    "їх",
    "свій",
    "своє",
    "свою",
    "свої",
    "себе",
    "також",
    "тому",
    "щоб",
    "будь",
    "ласка",
    "вітаю",
    "мо",
];
// Folded forms: آ is written ا (آن → ان).
const FA_STOP: &[&str] = &[
    "و",
    "در",
    "به",
    "از",
    "که",
    "این",
    "ان",
    "را",
    "با",
    "است",
    "هست",
    "برای",
    "یک",
    "تا",
    "هم",
    "یا",
    "اما",
    "اگر",
    "من",
    "ما",
    "شما",
    "او",
    "انها",
    "ها",
    "های",
    "ی",
    "چه",
    "چی",
    "چرا",
    "چطور",
    "چگونه",
    "کجا",
    "کجاست",
    "شد",
    "شده",
    "شود",
    "می",
    "نمی",
    "بر",
    "هر",
    "خود",
    "بود",
    "دارد",
    "دارم",
    "کنم",
    "کنید",
    "کند",
    "باید",
    "دیگر",
    "پس",
    "نیز",
    "فقط",
    "روی",
    "ای",
    "ایا",
    "ام",
    "سلام",
    "لطفا",
    "ممنون",
    "هستم",
    "هستند",
    "نیست",
];

pub fn is_stop_word(lang: Lang, word: &str) -> bool {
    let list = match lang {
        Lang::En => EN_STOP,
        Lang::Ru => RU_STOP,
        Lang::Uk => UK_STOP,
        Lang::Fa => FA_STOP,
    };
    list.contains(&word)
}

// Ukrainian inflection endings, longest first so the longest one wins.
const UK_SUFFIXES: &[&str] = &[
    "ування",
    "ювання",
    "ання",
    "ення",
    "іння",
    "яння",
    "ість",
    "ості",
    "істю",
    "ться",
    "ього",
    "ьому",
    "ами",
    "ями",
    "ові",
    "еві",
    "єві",
    "ого",
    "ому",
    "ими",
    "іми",
    "уть",
    "ють",
    "ать",
    "ять",
    "ить",
    "ите",
    "ете",
    "єте",
    "емо",
    "ємо",
    "имо",
    "ся",
    "сь",
    "ої",
    "ою",
    "ею",
    "єю",
    "ій",
    "ий",
    "им",
    "ім",
    "их",
    "іх",
    "ах",
    "ях",
    "ам",
    "ям",
    "ом",
    "ем",
    "єм",
    "ів",
    "їв",
    "ей",
    "ти",
    "ть",
    "ла",
    "ло",
    "ли",
    "а",
    "я",
    "у",
    "ю",
    "і",
    "ї",
    "и",
    "о",
    "е",
    "є",
    "ь",
    "й",
];

/// A light Ukrainian stemmer: drop the longest inflection ending (keeping at
/// least three letters), then one trailing vowel of what remains, so that
/// повернути/повернення/поверну all meet at "поверн".
pub fn stem_uk(word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    if let Some(suffix) = UK_SUFFIXES.iter().find(|s| ends_with(&w, s, 3)) {
        w.truncate(w.len() - suffix.chars().count());
        if w.len() > 4 && "аеєиіїоуюяьй".contains(w[w.len() - 1]) {
            w.pop();
        }
    }
    w.into_iter().collect()
}

// Persian plural/possessive/adjectival suffixes (already folded, no ZWNJ).
const FA_SUFFIXES: &[(&str, usize)] = &[
    ("هایشان", 2),
    ("هایتان", 2),
    ("هایمان", 2),
    ("هایی", 2),
    ("هایم", 2),
    ("هایت", 2),
    ("هایش", 2),
    ("های", 2),
    ("ها", 2),
    ("ترین", 3),
    ("تر", 3),
    ("ات", 3),
    ("ان", 4),
    ("مان", 3),
    ("تان", 3),
    ("شان", 3),
    ("ای", 3),
];

/// Personal endings of a Persian verb, written and colloquial (می‌کنید,
/// می‌کنن, میشه), longest first.
const FA_PERSON: &[&str] = &["یم", "ید", "ین", "ند", "ن", "م", "ی", "د", "ه"];

/// A light Persian stemmer: the verb prefixes می/نمی with the verb's personal
/// ending (می‌کنید, میکنن, نمی‌کنم → کن), or one plural or possessive suffix
/// (سفارشها, سفارشات → سفارش). Single-letter possessives (سفارشم) are not cut
/// here, since that would also cut every word that simply ends in م/ت/ش: the
/// query side tries them only for words the index does not know (`fa_variants`).
pub fn stem_fa(word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    let mut verb = false;
    for prefix in ["نمی", "می"] {
        if starts_with(&w, prefix) && w.len() - prefix.chars().count() >= 3 {
            w.drain(..prefix.chars().count());
            verb = true;
            break;
        }
    }
    if verb {
        if let Some(ending) = FA_PERSON.iter().find(|s| ends_with(&w, s, 2)) {
            w.truncate(w.len() - ending.chars().count());
        }
    } else if let Some((suffix, _)) = FA_SUFFIXES.iter().find(|(s, min)| ends_with(&w, s, *min)) {
        w.truncate(w.len() - suffix.chars().count());
    }
    w.into_iter().collect()
}

/// Enclitics shoppers attach to a word in writing: object and possessive
/// pronouns with or without the object marker (پولمو, جعبشو, کدشو, حسابمو,
/// شرکتمون), the object marker alone (سفارشو), colloquial "is" (تنگه), the
/// indefinite ی, the colloquial plural ا (امتیازام). Longest first.
const FA_ENCLITICS: &[&str] = &[
    "هامو", "هاشو", "هاتو", "امو", "اشو", "اتو", "مون", "تون", "شون", "مو", "شو", "تو", "ام", "اش", "ات", "یم", "ید",
    "ین", "ند", "م", "ش", "ت", "و", "ه", "ی", "ن", "ا",
];

/// At most this many variants of one word are tried against the index.
const FA_MAX_VARIANTS: usize = 16;

/// Analysed forms a colloquial or inflected Persian word may stand for, most
/// likely first: without an enclitic (پولمو → پول), with the ه a colloquial
/// spelling drops before it (جعبشو → جعبه, بستم → بسته), without the
/// subjunctive or negative prefix ب/ن and a personal ending (بفرستم → فرست),
/// and without the colloquial plural ا (امتیازام → امتیاز). `word` is an analysed
/// term (`stem_fa` output) of four letters or more. Each variant is itself
/// analysed and has at least two letters. Meant for query words the index does not know, tried
/// in order against the index's vocabulary.
pub fn fa_variants(word: &str) -> Vec<String> {
    let w: Vec<char> = word.chars().collect();
    let mut out: Vec<String> = Vec::new();
    // Two-letter words are common (کد, بن); shorter results are not words.
    let mut push = |candidate: &[char]| {
        if out.len() >= FA_MAX_VARIANTS || candidate.len() < 2 {
            return;
        }
        let s = stem_fa(&candidate.iter().collect::<String>());
        if s.chars().count() >= 2 && s != word && !out.contains(&s) {
            out.push(s);
        }
    };
    if w.len() < 4 {
        return out;
    }
    let mut bases: Vec<Vec<char>> = Vec::new();
    for e in FA_ENCLITICS {
        if ends_with(&w, e, 2) {
            bases.push(w[..w.len() - e.chars().count()].to_vec());
        }
    }
    for b in &bases {
        push(b);
        if !matches!(b.last(), Some('ه' | 'ا' | 'و' | 'ی')) {
            let mut with_he = b.clone();
            with_he.push('ه');
            push(&with_he);
        }
    }
    // Colloquial vowels: ون for ان (ارزون, خونه, تونم), initial او for آ
    // (اومد), with or without an enclitic.
    for b in std::iter::once(&w).chain(&bases) {
        if let Some(i) = b.windows(2).position(|p| p == ['و', 'ن']) {
            if i > 0 {
                let mut written = b.clone();
                written[i] = 'ا';
                push(&written);
                written.push('ه');
                push(&written);
            }
        }
        if b.len() >= 4 && b[0] == 'ا' && b[1] == 'و' {
            let mut written = b.clone();
            written.remove(1);
            push(&written);
        }
    }
    // Colloquial plural ا before an enclitic: امتیازام → امتیازا → امتیاز.
    for b in &bases {
        if b.len() >= 4 && b.last() == Some(&'ا') {
            push(&b[..b.len() - 1]);
        }
    }
    // Subjunctive and negative verb prefixes, with a personal ending or an
    // object pronoun after them: بفرستم, بفرستینش, نفرستید → فرست.
    if w.len() >= 5 && matches!(w[0], 'ب' | 'ن') {
        let rest = &w[1..];
        push(rest);
        for e in FA_ENCLITICS.iter().chain(FA_PERSON) {
            if ends_with(rest, e, 2) {
                let stem = &rest[..rest.len() - e.chars().count()];
                push(stem);
                // Help pages address the reader: بفرستم → بفرستید.
                if FA_PERSON.contains(e) {
                    let mut polite = w[..w.len() - e.chars().count()].to_vec();
                    polite.extend(['ی', 'د']);
                    push(&polite);
                }
                for p in FA_PERSON {
                    if ends_with(stem, p, 2) {
                        push(&stem[..stem.len() - p.chars().count()]);
                    }
                }
            }
        }
    }
    out
}

fn ends_with(w: &[char], suffix: &str, min_stem: usize) -> bool {
    let s: Vec<char> = suffix.chars().collect();
    w.len() >= s.len() + min_stem && w[w.len() - s.len()..] == s[..]
}

fn starts_with(w: &[char], prefix: &str) -> bool {
    let p: Vec<char> = prefix.chars().collect();
    w.len() >= p.len() && w[..p.len()] == p[..]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_stem_fa_verbs_meet_at_their_stem() {
        // Written and colloquial person endings after می/نمی.
        for verb in ["میکنید", "میکنم", "میکنن", "میکنه", "نمیکنند", "میکنیم"] {
            assert_eq!(stem_fa(verb), "کن", "{verb}");
        }
        assert_eq!(stem_fa("میفرستیم"), stem_fa("میفرستید"));
        // Plural and possessive suffixes as before; short words keep theirs.
        assert_eq!(stem_fa("سفارشهایتان"), "سفارش");
        assert_eq!(stem_fa("سفارشات"), "سفارش");
        assert_eq!(stem_fa("میز"), "میز");
        assert_eq!(stem_fa("بسته"), "بسته", "a noun ending in ه keeps it");
    }

    #[test]
    fn search_fa_variants_undo_enclitics_and_colloquial_spelling() {
        let has = |word: &str, want: &str| {
            let v = fa_variants(&stem_fa(word));
            assert!(v.contains(&want.to_string()), "{word}: {v:?} lacks {want}");
        };
        has("پولمو", "پول");
        has("حسابمو", "حساب");
        has("کدشو", "کد");
        has("سفارشو", "سفارش");
        has("شرکتمون", "شرکت");
        has("جعبشو", "جعبه");
        has("بستم", "بسته");
        has("تنگه", "تنگ");
        has("ایمیلی", "ایمیل");
        has("امتیازام", "امتیاز");
        has("اطلاعاتمو", &stem_fa("اطلاعات"));
        has("بفرستم", "فرست");
        has("بفرستم", "بفرستید");
        has("بفرستینش", "فرست");
        has("ارزونتر", "ارزان");
        has("خونمون", "خانه");
        has("اومده", "امده");
        // The longest enclitic is tried first.
        assert_eq!(fa_variants("پولمو").first().map(String::as_str), Some("پول"));
        // Nothing from words of three letters, nothing of one letter.
        assert!(fa_variants("پسش").is_empty());
        assert!(
            fa_variants("کدشو").iter().all(|v| v.chars().count() >= 2),
            "{:?}",
            fa_variants("کدشو")
        );
        assert!(fa_variants("").is_empty());
        assert!(fa_variants("ab").is_empty());
        // Bounded however long the word.
        assert!(fa_variants(&"بفرستمو".repeat(5)).len() <= FA_MAX_VARIANTS);
    }
}
