use super::Invalid;

/// An e-mail address checked once at the edge and kept in lower case, so
/// the same customer writing as `Ann@Shop.test` and `ann@shop.test` is one
/// contact.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Self, Invalid> {
        let v = raw.trim();
        let bad = || {
            Invalid::new(
                field,
                format!("'{}' is not an e-mail address", v.chars().take(80).collect::<String>()),
            )
        };
        if v.len() > 254
            || v.chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"'))
        {
            return Err(bad());
        }
        let (local, domain) = v.rsplit_once('@').ok_or_else(bad)?;
        if local.is_empty() || local.len() > 64 || local.contains('@') || domain.len() < 3 || !domain.contains('.') {
            return Err(bad());
        }
        if domain.starts_with('.') || domain.ends_with('.') || domain.contains("..") || domain.contains(['@', '[']) {
            return Err(bad());
        }
        // The parser the outbox sends with: an address it takes is one we
        // can answer, and `javascript:x=1@shop.test` is not one.
        if v.parse::<lettre::Address>().is_err() {
            return Err(bad());
        }
        Ok(Self(v.to_lowercase()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_addresses_and_lowercases() {
        assert_eq!(
            Email::parse("email", " Ann.Lee+shop@Example.COM ").unwrap().as_str(),
            "ann.lee+shop@example.com"
        );
        assert!(Email::parse("email", "покупатель@магазин.рф").is_ok());
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "ann",
            "ann@",
            "@shop.test",
            "ann@shop",
            "a b@shop.test",
            "ann@shop..test",
            "<ann@shop.test>",
            "a@b@c.test",
            "javascript:window.__xss=18mail18@cust.test",
            "ann(comment)@shop.test",
            "ann@[127.0.0.1]",
            "ann@-shop.test",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }
}
