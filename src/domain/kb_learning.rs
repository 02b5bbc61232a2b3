//! What knowledge-base search learns from shoppers and admins: click
//! weights that fade with time, "other ways to ask this" phrasings, and a
//! workspace's own synonym groups, with the bounds on each.

use super::Invalid;

/// A click's weight halves every 30 days: last season's wording fades, and
/// a burst of clicks cannot hold an article up forever.
pub const CLICK_HALF_LIFE_MS: i64 = 30 * 86_400_000;
/// Most clicks counted for one query and article (in thousandths): beyond
/// this, clicks add nothing, so repeating a search and click cannot push
/// an article further.
pub const CLICK_CAP_MILLI: i64 = 50_000;
pub const MAX_PHRASINGS: usize = 50;
pub const PHRASING_MAX_CHARS: usize = 200;
/// Synonym groups a workspace can keep.
pub const MAX_SYNONYM_GROUPS: usize = 500;

/// The weight (in clicks) of `weight_milli` thousandths last changed at
/// `updated_at`, as of `now`.
pub fn decayed(weight_milli: i64, updated_at: i64, now: i64) -> f32 {
    let age = (now - updated_at).max(0) as f64;
    (weight_milli.max(0) as f64 / 1000.0 * 0.5f64.powf(age / CLICK_HALF_LIFE_MS as f64)) as f32
}

/// The stored weight after one more click at `now`.
pub fn after_click(weight_milli: i64, updated_at: i64, now: i64) -> i64 {
    let w = (decayed(weight_milli, updated_at, now) as f64 * 1000.0).round() as i64 + 1000;
    w.min(CLICK_CAP_MILLI)
}

/// One phrasing, trimmed and whitespace collapsed.
pub fn phrasing(text: &str) -> Result<String, Invalid> {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        return Err(Invalid::new("phrasings", "a phrasing is empty"));
    }
    if t.chars().count() > PHRASING_MAX_CHARS {
        return Err(Invalid::new(
            "phrasings",
            format!("a phrasing is at most {PHRASING_MAX_CHARS} characters"),
        ));
    }
    if t.contains(['\n', '\r']) {
        return Err(Invalid::new("phrasings", "a phrasing is one line"));
    }
    Ok(t)
}

/// An article's phrasings: each checked, duplicates (ignoring case) dropped.
pub fn phrasings(items: &[String]) -> Result<Vec<String>, Invalid> {
    let mut out: Vec<String> = Vec::new();
    for item in items {
        let p = phrasing(item)?;
        if !out.iter().any(|o| o.to_lowercase() == p.to_lowercase()) {
            out.push(p);
        }
    }
    if out.len() > MAX_PHRASINGS {
        return Err(Invalid::new(
            "phrasings",
            format!("an article has at most {MAX_PHRASINGS} phrasings"),
        ));
    }
    Ok(out)
}

/// A synonym group as an admin enters it: 2 to 20 distinct entries (words
/// or short phrases), none with a comma.
pub fn synonym_group(words: &[String]) -> Result<Vec<String>, Invalid> {
    let max_chars = crate::search::SYNONYM_MAX_ENTRY_CHARS;
    let mut out: Vec<String> = Vec::new();
    for w in words {
        let w = w.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
        if w.is_empty() {
            continue;
        }
        if w.chars().count() > max_chars || w.contains(',') {
            return Err(Invalid::new(
                "words",
                format!("an entry is at most {max_chars} characters, without commas"),
            ));
        }
        if !out.contains(&w) {
            out.push(w);
        }
    }
    let max = crate::search::SYNONYM_MAX_ENTRIES;
    if out.len() < 2 || out.len() > max {
        return Err(Invalid::new(
            "words",
            format!("a synonym group has 2 to {max} different entries"),
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn kb_learning_clicks_fade_by_half_every_thirty_days() {
        assert!((decayed(4000, 0, 0) - 4.0).abs() < 1e-4);
        assert!((decayed(4000, 0, 30 * DAY) - 2.0).abs() < 1e-3);
        assert!((decayed(4000, 0, 60 * DAY) - 1.0).abs() < 1e-3);
        assert!(decayed(4000, 0, 365 * DAY) < 0.01);
        // A clock that went back does not grow a weight.
        assert!((decayed(4000, 10 * DAY, 0) - 4.0).abs() < 1e-4);
        assert_eq!(after_click(0, 0, 0), 1000);
        assert_eq!(after_click(2000, 0, 30 * DAY), 2000);
        assert_eq!(after_click(CLICK_CAP_MILLI, 0, 0), CLICK_CAP_MILLI);
        assert_eq!(decayed(-5, 0, 0), 0.0);
    }

    #[test]
    fn kb_learning_phrasings_and_synonyms_are_bounded() {
        assert_eq!(
            phrasings(&["  where is  my parcel ".into(), "Where is my parcel".into()]).unwrap(),
            vec!["where is my parcel"]
        );
        assert!(phrasings(&["   ".into()]).is_err());
        assert!(phrasings(&["x".repeat(PHRASING_MAX_CHARS + 1)]).is_err());
        assert!(phrasings(&(0..=MAX_PHRASINGS).map(|i| format!("q {i}")).collect::<Vec<_>>()).is_err());
        assert_eq!(
            synonym_group(&["Sofa".into(), " couch ".into(), "sofa".into()]).unwrap(),
            vec!["sofa", "couch"]
        );
        assert!(synonym_group(&["sofa".into()]).is_err());
        assert!(synonym_group(&["a,b".into(), "c".into()]).is_err());
        assert!(synonym_group(&(0..30).map(|i| format!("w{i}")).collect::<Vec<_>>()).is_err());
    }
}
