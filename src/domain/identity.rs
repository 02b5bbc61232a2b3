//! A shopper the store vouches for: `storedesk('identify', {...})` with a
//! `user_hash` the store computes on its server with the workspace's
//! identity secret, so a visitor cannot claim another customer's identity
//! by typing their address into the page's console.
//!
//! The signed text is `"{id}:{email}"`, each exactly as passed (an empty
//! string when absent): both the store's customer id and the address are
//! covered, so neither can be swapped under a valid hash.

use std::collections::BTreeMap;

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use super::{Email, Invalid};

/// Longest customer id a store may pass.
pub const ID_MAX: usize = 128;
/// Longest name.
pub const NAME_MAX: usize = 200;
/// Most attributes one identify may set.
pub const ATTRIBUTES_MAX: usize = 50;
/// Longest attribute name.
pub const KEY_MAX: usize = 64;
/// Longest text value of an attribute.
pub const VALUE_MAX: usize = 500;

/// What a store says about the visitor, checked and not yet verified.
#[derive(Debug, Clone, PartialEq)]
pub struct Claim {
    pub id: Option<String>,
    pub email: Option<Email>,
    pub name: Option<String>,
    pub attributes: BTreeMap<String, Value>,
    /// Exactly the `id` and `email` as sent, for the signature.
    signed: String,
}

impl Claim {
    /// Checks the shape of a claim: an id and/or an address, a name, and
    /// flat attributes with short names and scalar values.
    pub fn parse(
        id: Option<&str>,
        email: Option<&str>,
        name: Option<&str>,
        attributes: Option<&Value>,
    ) -> Result<Self, Invalid> {
        let raw_id = id.unwrap_or_default();
        let raw_email = email.unwrap_or_default();
        if raw_id.is_empty() && raw_email.is_empty() {
            return Err(Invalid::new("id", "give the customer's id, e-mail address or both"));
        }
        if raw_id.chars().count() > ID_MAX || raw_id.chars().any(char::is_control) {
            return Err(Invalid::new(
                "id",
                format!("at most {ID_MAX} characters, without control characters"),
            ));
        }
        let parsed_email = match raw_email {
            "" => None,
            e => Some(Email::parse("email", e)?),
        };
        let name = name.map(str::trim).filter(|n| !n.is_empty());
        if let Some(n) = name {
            if n.chars().count() > NAME_MAX || n.chars().any(char::is_control) {
                return Err(Invalid::new(
                    "name",
                    format!("at most {NAME_MAX} characters, without control characters"),
                ));
            }
        }
        Ok(Self {
            id: (!raw_id.is_empty()).then(|| raw_id.to_string()),
            email: parsed_email,
            name: name.map(str::to_string),
            attributes: attributes_of(attributes)?,
            signed: format!("{raw_id}:{raw_email}"),
        })
    }

    /// Whether `user_hash` is the lowercase or uppercase hex HMAC-SHA256
    /// of `"{id}:{email}"` under `secret`, compared in constant time.
    pub fn verify(&self, secret: &str, user_hash: &str) -> bool {
        let Ok(sig) = hex::decode(user_hash.trim()) else {
            return false;
        };
        let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
        m.update(self.signed.as_bytes());
        m.verify_slice(&sig).is_ok()
    }
}

/// What a store computes: hex HMAC-SHA256 of `"{id}:{email}"`.
pub fn user_hash(secret: &str, id: &str, email: &str) -> String {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key length");
    m.update(format!("{id}:{email}").as_bytes());
    hex::encode(m.finalize().into_bytes())
}

fn attributes_of(v: Option<&Value>) -> Result<BTreeMap<String, Value>, Invalid> {
    let Some(v) = v.filter(|v| !v.is_null()) else {
        return Ok(BTreeMap::new());
    };
    let Value::Object(map) = v else {
        return Err(Invalid::new("attributes", "an object of names and values"));
    };
    if map.len() > ATTRIBUTES_MAX {
        return Err(Invalid::new("attributes", format!("at most {ATTRIBUTES_MAX} of them")));
    }
    let mut out = BTreeMap::new();
    for (k, v) in map {
        let name_ok = !k.is_empty()
            && k.len() <= KEY_MAX
            && k.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.');
        if !name_ok {
            return Err(Invalid::new(
                "attributes",
                format!("names are 1–{KEY_MAX} characters of a-z, 0-9, _ . -"),
            ));
        }
        match v {
            Value::String(s) if s.chars().count() > VALUE_MAX => {
                return Err(Invalid::new(
                    "attributes",
                    format!("{k}: text of at most {VALUE_MAX} characters"),
                ))
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(Invalid::new(
                    "attributes",
                    format!("{k}: a text, number, true/false or null"),
                ))
            }
            _ => {}
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// A new identity secret: 32 random bytes, hex.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut b);
    hex::encode(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_hash_over_id_and_email_verifies_and_nothing_else_does() {
        let c = Claim::parse(Some("42"), Some("ann@example.com"), Some("Ann"), None).unwrap();
        let good = user_hash("s3cret", "42", "ann@example.com");
        assert!(c.verify("s3cret", &good));
        assert!(c.verify("s3cret", &good.to_uppercase()));
        assert!(!c.verify("other", &good));
        assert!(!c.verify("s3cret", &user_hash("s3cret", "43", "ann@example.com")));
        assert!(!c.verify("s3cret", &user_hash("s3cret", "42", "bob@example.com")));
        assert!(!c.verify("s3cret", "not hex"));
        assert!(!c.verify("s3cret", ""));
        let by_mail = Claim::parse(None, Some("ann@example.com"), None, None).unwrap();
        assert!(by_mail.verify("s3cret", &user_hash("s3cret", "", "ann@example.com")));
    }

    #[test]
    fn claims_are_bounded() {
        assert!(Claim::parse(None, None, None, None).is_err());
        assert!(Claim::parse(Some(&"x".repeat(ID_MAX + 1)), None, None, None).is_err());
        assert!(Claim::parse(Some("a\u{0}b"), None, None, None).is_err());
        assert!(Claim::parse(None, Some("not an address"), None, None).is_err());
        assert!(Claim::parse(Some("1"), None, Some(&"n".repeat(NAME_MAX + 1)), None).is_err());
        let nested = json!({"a": {"b": 1}});
        assert!(Claim::parse(Some("1"), None, None, Some(&nested)).is_err());
        assert!(Claim::parse(Some("1"), None, None, Some(&json!([1]))).is_err());
        assert!(Claim::parse(Some("1"), None, None, Some(&json!({"bad key": 1}))).is_err());
        assert!(Claim::parse(Some("1"), None, None, Some(&json!({"k": "v".repeat(VALUE_MAX + 1)}))).is_err());
        let many: serde_json::Map<String, Value> = (0..=ATTRIBUTES_MAX).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(Claim::parse(Some("1"), None, None, Some(&Value::Object(many))).is_err());
        let ok = Claim::parse(
            Some("1"),
            None,
            None,
            Some(&json!({"plan": "gold", "orders": 3, "vip": true})),
        )
        .unwrap();
        assert_eq!(ok.attributes.len(), 3);
    }
}
