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
const FA_STOP: &[&str] = &[
    "و",
    "در",
    "به",
    "از",
    "که",
    "این",
    "آن",
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
    "آنها",
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
    "آیا",
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
    ("ات", 3),
    ("ان", 4),
    ("مان", 3),
    ("تان", 3),
    ("شان", 3),
    ("ای", 3),
];

/// A light Persian stemmer: the verb prefixes می/نمی and one plural or
/// possessive suffix (سفارشها, سفارشات → سفارش). Single-letter possessives
/// (سفارشم) are left to fuzzy matching: stripping them would also cut every
/// word that simply ends in م/ت/ش.
pub fn stem_fa(word: &str) -> String {
    let mut w: Vec<char> = word.chars().collect();
    for prefix in ["نمی", "می"] {
        if starts_with(&w, prefix) && w.len() - prefix.chars().count() >= 3 {
            w.drain(..prefix.chars().count());
            break;
        }
    }
    if let Some((suffix, _)) = FA_SUFFIXES.iter().find(|(s, min)| ends_with(&w, s, *min)) {
        w.truncate(w.len() - suffix.chars().count());
    }
    w.into_iter().collect()
}

fn ends_with(w: &[char], suffix: &str, min_stem: usize) -> bool {
    let s: Vec<char> = suffix.chars().collect();
    w.len() >= s.len() + min_stem && w[w.len() - s.len()..] == s[..]
}

fn starts_with(w: &[char], prefix: &str) -> bool {
    let p: Vec<char> = prefix.chars().collect();
    w.len() >= p.len() && w[..p.len()] == p[..]
}
