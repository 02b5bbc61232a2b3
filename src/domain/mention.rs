//! `@handle` mentions in notes.

/// Someone who can be mentioned.
pub struct Handle<'a> {
    pub id: i64,
    pub email: &'a str,
    pub name: &'a str,
}

/// The people a note names with `@handle`, in order, each once: a handle
/// is the e-mail's local part, the full name without spaces, or the first
/// name, in any case.
pub fn mentioned(body: &str, people: &[Handle<'_>]) -> Vec<i64> {
    let mut out = vec![];
    for (i, _) in body.match_indices('@') {
        if i > 0 && body[..i].chars().last().is_some_and(|c| c.is_alphanumeric()) {
            continue; // an e-mail address, not a mention
        }
        let handle: String = body[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
            .collect::<String>()
            .trim_end_matches('.')
            .to_lowercase();
        if handle.is_empty() {
            continue;
        }
        let hit = people.iter().find(|u| {
            let local = u.email.split('@').next().unwrap_or("").to_lowercase();
            let full: String = u.name.split_whitespace().collect::<String>().to_lowercase();
            let first = u.name.split_whitespace().next().unwrap_or("").to_lowercase();
            handle == local || handle == full || handle == first || handle == u.email.to_lowercase()
        });
        if let Some(u) = hit {
            if !out.contains(&u.id) {
                out.push(u.id);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mentions_by_handle_name_or_first_name() {
        let people = [
            Handle {
                id: 1,
                name: "Olena Kovalenko",
                email: "olena.k@shop.test",
            },
            Handle {
                id: 2,
                name: "Bob Stone",
                email: "bob@shop.test",
            },
        ];
        assert_eq!(mentioned("@olena.k please look", &people), vec![1]);
        assert_eq!(mentioned("cc @Bob and @OlenaKovalenko.", &people), vec![2, 1]);
        assert_eq!(mentioned("write to bob@shop.test", &people), Vec::<i64>::new());
        assert_eq!(mentioned("@nobody @", &people), Vec::<i64>::new());
    }
}
