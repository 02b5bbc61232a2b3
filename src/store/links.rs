//! Private ticket links. A link is `TICKETID-SIGNATURE`, the signature an
//! HMAC of the ticket id under a key of the installation: nothing per link
//! is stored (so a database leak reveals no link), every node can check
//! one, and rotating the key revokes them all.

use hmac::{Hmac, Mac};
use sha2::Sha256;

use super::*;

const KEY: &str = "ticket_links";

impl Store {
    /// Loads the link key, making it on first start.
    pub(super) async fn load_link_key(&self) -> Result<Vec<u8>> {
        let fresh = hex::encode(rand::random::<[u8; 32]>());
        sqlx::query("INSERT INTO instance_keys (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(KEY)
            .bind(&fresh)
            .execute(&self.write)
            .await?;
        let v: String = sqlx::query_scalar("SELECT value FROM instance_keys WHERE name = $1")
            .bind(KEY)
            .fetch_one(&self.write)
            .await?;
        hex::decode(v).map_err(|e| StoreError::Corrupt(format!("link key: {e}")))
    }

    async fn link_key(&self) -> Result<Vec<u8>> {
        if let Some(k) = self.link_key.get() {
            return Ok(k.clone());
        }
        let k = self.load_link_key().await?;
        let _ = self.link_key.set(k.clone());
        Ok(k)
    }

    fn sign(key: &[u8], ticket_id: i64) -> String {
        Self::mac(key, &format!("ticket:{ticket_id}"))
    }

    fn mac(key: &[u8], text: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
        mac.update(text.as_bytes());
        hex::encode(&mac.finalize().into_bytes()[..20])
    }

    /// `value.signature`, for values a page hands out and takes back
    /// (the time a form was shown) that must not be forged.
    pub async fn signed(&self, purpose: &str, value: &str) -> Result<String> {
        Ok(format!(
            "{value}.{}",
            Self::mac(&self.link_key().await?, &format!("{purpose}:{value}"))
        ))
    }

    /// The value of a `signed` string, if the signature holds.
    pub async fn verified(&self, purpose: &str, signed: &str) -> Result<Option<String>> {
        let Some((value, sig)) = signed.rsplit_once('.') else {
            return Ok(None);
        };
        let want = Self::mac(&self.link_key().await?, &format!("{purpose}:{value}"));
        Ok(crate::auth::constant_time_eq(want.as_bytes(), sig.as_bytes()).then(|| value.to_string()))
    }

    /// The private link token of a ticket.
    pub async fn ticket_link(&self, ticket_id: i64) -> Result<String> {
        Ok(format!(
            "{ticket_id}-{}",
            Self::sign(&self.link_key().await?, ticket_id)
        ))
    }

    /// The ticket a link token opens, if the token is genuine.
    pub async fn ticket_by_link(&self, workspace_id: i64, token: &str) -> Result<Ticket> {
        let (id, sig) = token.split_once('-').ok_or(StoreError::NotFound)?;
        let id: i64 = id.parse().map_err(|_| StoreError::NotFound)?;
        let want = Self::sign(&self.link_key().await?, id);
        if !crate::auth::constant_time_eq(want.as_bytes(), sig.as_bytes()) {
            return Err(StoreError::NotFound);
        }
        self.ticket_unchecked(workspace_id, id).await
    }
}
