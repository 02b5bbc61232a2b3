//! Mail from customers, from the SMTP listener and the IMAP poller alike.

use super::Services;
use crate::events::Hint;
use crate::store::mail::{InboundMail, Ingested};
use crate::store::{Result, Workspace};

impl Services {
    /// Files a customer's mail: a new ticket or the next message of its
    /// thread. The same Message-ID twice is filed once.
    pub async fn ingest_mail(&self, ws: &Workspace, m: InboundMail) -> Result<Ingested> {
        let (r, logged) = self.store.ingest_mail(ws, m).await?;
        match &r {
            Ingested::Created(t, msg) => {
                metrics::counter!("storedesk_tickets_created_total", "channel" => "email").increment(1);
                self.logged(&logged, Hint::ticket(t).message(msg));
            }
            Ingested::Appended(t, msg) => self.logged(&logged, Hint::ticket(t).message(msg)),
            Ingested::Duplicate => {}
        }
        Ok(r)
    }
}
