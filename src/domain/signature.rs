//! HMAC-SHA256 signatures of HTTP bodies, as `sha256=HEX`: outbound webhooks
//! sign what they deliver, messenger gateways sign what they send us and
//! verify what we send them. One scheme, so a receiver's check is the same
//! snippet for both.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The header that carries a signature.
pub const HEADER: &str = "x-storedesk-signature";
/// The header that carries the Unix time (seconds) the signature was made
/// at; signed as part of the message (see `signed_bytes`).
pub const TIMESTAMP_HEADER: &str = "x-storedesk-timestamp";
/// How far a signed timestamp may be from our clock before it is refused
/// as a replay (or a wrong clock).
pub const TOLERANCE_S: i64 = 300;

fn mac(secret: &[u8]) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length")
}

/// `sha256=` and the lowercase hex HMAC-SHA256 of `body` under `secret`.
pub fn sign(secret: &[u8], body: &[u8]) -> String {
    let mut m = mac(secret);
    m.update(body);
    format!("sha256={}", hex::encode(m.finalize().into_bytes()))
}

/// Whether `header` is `sign(secret, body)`, compared in constant time.
pub fn verify(secret: &[u8], body: &[u8], header: &str) -> bool {
    let Some(hex_sig) = header.trim().strip_prefix("sha256=") else {
        return false;
    };
    let Ok(sig) = hex::decode(hex_sig) else {
        return false;
    };
    let mut m = mac(secret);
    m.update(body);
    m.verify_slice(&sig).is_ok()
}

/// What a timestamped signature covers: `"{timestamp}.{body}"`, so a
/// captured request cannot be replayed later with a fresh timestamp.
pub fn signed_bytes(timestamp: i64, body: &[u8]) -> Vec<u8> {
    let mut v = format!("{timestamp}.").into_bytes();
    v.extend_from_slice(body);
    v
}

/// Why a timestamped request was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// No timestamp, or not a number.
    MissingTimestamp,
    /// Further than `TOLERANCE_S` from now.
    Stale,
    /// Absent or not ours.
    BadSignature,
}

/// Checks a timestamped signature (`TIMESTAMP_HEADER` and `HEADER`) made
/// by `sign(secret, &signed_bytes(ts, body))`, at `now` (Unix seconds).
pub fn verify_timestamped(
    secret: &[u8],
    body: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    now: i64,
) -> Result<i64, Refused> {
    let ts: i64 = timestamp
        .and_then(|t| t.trim().parse().ok())
        .ok_or(Refused::MissingTimestamp)?;
    if (now - ts).abs() > TOLERANCE_S {
        return Err(Refused::Stale);
    }
    match signature {
        Some(sig) if verify(secret, &signed_bytes(ts, body), sig) => Ok(ts),
        _ => Err(Refused::BadSignature),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_as_the_rfc_4231_vector_says() {
        // RFC 4231 test case 2.
        assert_eq!(
            sign(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn verifies_only_the_same_body_and_secret() {
        let s = sign(b"k", b"{}");
        assert!(verify(b"k", b"{}", &s));
        assert!(verify(b"k", b"{}", &format!(" {s} ")));
        assert!(!verify(b"k", b"{} ", &s));
        assert!(!verify(b"other", b"{}", &s));
        assert!(!verify(b"k", b"{}", s.trim_start_matches("sha256=")));
        assert!(!verify(b"k", b"{}", "sha256=zz"));
        assert!(!verify(b"k", b"{}", "sha256="));
    }

    #[test]
    fn timestamped_signatures_refuse_replays_and_tampering() {
        let body = br#"{"text":"hi"}"#;
        let sig = sign(b"k", &signed_bytes(1000, body));
        assert_eq!(verify_timestamped(b"k", body, Some("1000"), Some(&sig), 1100), Ok(1000));
        assert_eq!(
            verify_timestamped(b"k", body, Some("1000"), Some(&sig), 1301),
            Err(Refused::Stale)
        );
        assert_eq!(
            verify_timestamped(b"k", body, Some("1001"), Some(&sig), 1100),
            Err(Refused::BadSignature)
        );
        assert_eq!(
            verify_timestamped(b"k", body, None, Some(&sig), 1100),
            Err(Refused::MissingTimestamp)
        );
        assert_eq!(
            verify_timestamped(b"k", body, Some("x"), Some(&sig), 1100),
            Err(Refused::MissingTimestamp)
        );
        assert_eq!(
            verify_timestamped(b"k", body, Some("1000"), None, 1100),
            Err(Refused::BadSignature)
        );
    }
}
