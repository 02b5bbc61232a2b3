//! The storage conformance story, run on both backends against the store
//! interface itself: workspace → contact → ticket → reply → close → report.

use storedesk::domain::{Actor, Channel, Email, MessageKind, Priority, Role, Status, TicketScope};
use storedesk::store::{
    Author, NewContact, NewMessage, NewTicket, NewUser, Store, StoreError, TicketContact, TicketFilter, TicketPatch,
};

use crate::harness::{Db, TestDb};

crate::both_backends!(
    story,
    unique_and_missing_rows_are_typed_errors,
    one_bad_ticket_does_not_fail_its_batch
);

fn new_ticket(subject: &str, email: &str) -> NewTicket {
    NewTicket {
        subject: subject.into(),
        body: "Hello".into(),
        contact: TicketContact::Email(NewContact {
            email: Email::parse("email", email).unwrap(),
            name: Some("Ann".into()),
        }),
        channel: Channel::Email,
        priority: Priority::Normal,
        labels: vec!["vip".into()],
        author: Author::Contact,
        external_id: None,
        message_external_id: None,
        team_id: None,
        kind: None,
        feature: None,
    }
}

async fn story(db: Db) {
    let tdb = TestDb::new(db).await;
    let store = Store::connect(&tdb.url).await.unwrap();
    // Migrations are idempotent: connecting twice is fine.
    Store::connect(&tdb.url).await.unwrap().close().await;
    let admin = NewUser {
        email: Email::parse("e", "boss@store.test").unwrap(),
        name: "Boss".into(),
        role: Role::Admin,
        teams_only: false,
        password_hash: Some("h".into()),
    };
    let (ws, boss) = store
        .create_workspace("Магазин Ромашка", "magazin-romashka", admin.clone())
        .await
        .unwrap();
    assert_eq!(ws.slug, "magazin-romashka");
    let (ws2, _) = store
        .create_workspace(
            "Магазин Ромашка",
            "magazin-romashka",
            NewUser {
                email: Email::parse("e", "b2@store.test").unwrap(),
                ..admin
            },
        )
        .await
        .unwrap();
    assert_eq!(ws2.slug, "magazin-romashka-2");
    let actor = Actor {
        user_id: boss.id,
        workspace_id: ws.id,
        role: Role::Admin,
        scope: TicketScope::All,
    };

    let (opened, logged) = store
        .create_ticket(ws.id, new_ticket("Где мой заказ?", "ann@shop.test"))
        .await
        .unwrap();
    let t = opened.ticket;
    assert!(opened.created);
    let kinds: Vec<&str> = logged.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["contact.created", "ticket.created", "message.created"],
        "the change and its events in one transaction"
    );
    assert_eq!((t.number, t.status, t.channel), (1, Status::Open, Channel::Email));
    assert_eq!(t.labels, vec!["vip"]);
    let t2 = store
        .create_ticket(ws.id, new_ticket("Second", "ann@shop.test"))
        .await
        .unwrap()
        .0
        .ticket;
    assert_eq!(t2.contact.id, t.contact.id);
    assert_eq!(t2.number, 2);

    let (reply, _) = store
        .add_message(
            ws.id,
            Some(&actor),
            t.id,
            NewMessage {
                kind: MessageKind::Reply,
                author: Author::Agent(boss.id),
                body: "Found it".into(),
                html: None,
                external_id: None,
                files: vec![],
            },
            &[],
        )
        .await
        .unwrap();
    assert_eq!(reply.message.kind, MessageKind::Reply);
    let (closed, logged) = store
        .update_ticket(
            &actor,
            t.id,
            TicketPatch {
                status: Some(Status::Closed),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(
        logged[0].changes["status"],
        serde_json::json!({ "from": "open", "to": "closed" })
    );
    assert_eq!(closed.status, Status::Closed);
    assert!(closed.first_response_at.is_some() && closed.resolved_at.is_some());

    // The customer writes again: the ticket is back in front of the team.
    store
        .add_message(
            ws.id,
            None,
            t.id,
            NewMessage {
                kind: MessageKind::Reply,
                author: Author::Contact,
                body: "One more thing".into(),
                html: None,
                external_id: Some("mid-1".into()),
                files: vec![],
            },
            &[],
        )
        .await
        .unwrap();
    let reopened = store.ticket(&actor, t.id).await.unwrap();
    assert_eq!(reopened.status, Status::Open);
    assert!(reopened.resolved_at.is_none());
    let msgs = store.list_messages(&actor, t.id, 0, 100).await.unwrap();
    assert_eq!(
        msgs.iter().filter(|m| m.kind == MessageKind::Event).count(),
        2,
        "closed + reopened events"
    );

    // Report-shaped reads: open tickets, first response recorded.
    let open = store
        .list_tickets(
            &actor,
            &TicketFilter {
                statuses: vec![Status::Open],
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(open.items.len(), 2);
    assert_eq!(open.items.iter().filter(|t| t.first_response_at.is_some()).count(), 1);

    // Backup of this database restores into the other backend unchanged,
    // binary attachments and settings included.
    store
        .create_attachment(
            ws.id,
            t.contact.id,
            "receipt.pdf",
            "application/pdf",
            vec![0, 159, 146, 150, 255],
        )
        .await
        .unwrap();
    store
        .save_widget_settings(
            ws.id,
            &storedesk::store::chat::WidgetSettings {
                greeting: "Привет!".into(),
                ..Default::default()
            },
            boss.id,
        )
        .await
        .unwrap();
    let mut dump = Vec::new();
    let stats = store.backup(&mut dump).await.unwrap();
    assert_eq!(stats.rows("tickets"), 2);
    let other = TestDb::new(if db == Db::Sqlite { Db::Postgres } else { Db::Sqlite }).await;
    let restored = Store::connect(&other.url).await.unwrap();
    restored.restore(std::io::Cursor::new(&dump)).await.unwrap();
    let mut again = Vec::new();
    restored.backup(&mut again).await.unwrap();
    let rows = |d: &[u8]| {
        String::from_utf8(d.to_vec())
            .unwrap()
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    assert_eq!(rows(&dump), rows(&again));
    // Ids continue after the restored ones.
    let (t3, logged) = restored
        .create_ticket(ws.id, new_ticket("After restore", "new@shop.test"))
        .await
        .unwrap();
    assert_eq!(t3.ticket.number, 3);
    assert!(t3.ticket.id > t2.id);
    let before: i64 = store.event_head().await.unwrap();
    assert!(
        logged.iter().all(|e| e.id > before),
        "the event log continues after the restored events"
    );
    // Restoring twice is refused.
    assert!(matches!(
        restored.restore(std::io::Cursor::new(&dump)).await,
        Err(StoreError::Backup(_))
    ));
    store.close().await;
    restored.close().await;
}

async fn unique_and_missing_rows_are_typed_errors(db: Db) {
    let tdb = TestDb::new(db).await;
    let store = Store::connect(&tdb.url).await.unwrap();
    let admin = NewUser {
        email: Email::parse("e", "boss@store.test").unwrap(),
        name: "Boss".into(),
        role: Role::Admin,
        teams_only: false,
        password_hash: None,
    };
    let (ws, boss) = store.create_workspace("Shop", "shop", admin.clone()).await.unwrap();
    assert!(matches!(
        store.create_user(ws.id, admin, boss.id).await,
        Err(StoreError::Conflict(_))
    ));
    store.create_team(ws.id, "Billing", boss.id).await.unwrap();
    assert!(matches!(
        store.create_team(ws.id, "Billing", boss.id).await,
        Err(StoreError::Conflict(_))
    ));
    let actor = Actor {
        user_id: boss.id,
        workspace_id: ws.id,
        role: Role::Admin,
        scope: TicketScope::All,
    };
    assert!(matches!(store.ticket(&actor, 12345).await, Err(StoreError::NotFound)));
    assert!(matches!(
        store
            .update_ticket(
                &actor,
                12345,
                TicketPatch {
                    status: Some(Status::Closed),
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound)
    ));
    let mut nt = new_ticket("x", "a@b.test");
    nt.external_id = Some("ext".into());
    let (a, l1) = store.create_ticket(ws.id, nt.clone()).await.unwrap();
    let (b, l2) = store.create_ticket(ws.id, nt).await.unwrap();
    assert!(a.created && !b.created);
    assert_eq!(a.ticket.id, b.ticket.id);
    assert!(!l1.is_empty() && l2.is_empty(), "a repeat records nothing");
    store.close().await;
}

async fn one_bad_ticket_does_not_fail_its_batch(db: Db) {
    let tdb = TestDb::new(db).await;
    let store = Store::connect(&tdb.url).await.unwrap();
    let admin = NewUser {
        email: Email::parse("e", "boss@store.test").unwrap(),
        name: "Boss".into(),
        role: Role::Admin,
        teams_only: false,
        password_hash: None,
    };
    let (ws, _) = store.create_workspace("Shop", "shop", admin).await.unwrap();
    // Concurrent creates are committed together; one of them names an
    // agent that does not exist.
    let jobs = (0..40).map(|i| {
        let mut t = new_ticket(&format!("t{i}"), &format!("c{}@shop.test", i % 3));
        if i == 17 {
            t.author = Author::Agent(999_999);
        }
        let store = store.clone();
        tokio::spawn(async move { store.create_ticket(ws.id, t).await })
    });
    let results: Vec<_> = futures::future::join_all(jobs)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .collect();
    let failed: Vec<usize> = results
        .iter()
        .enumerate()
        .filter(|(_, r)| r.is_err())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(failed, vec![17]);
    assert!(matches!(results[17], Err(StoreError::Invalid(_))));
    let mut numbers: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .map(|(t, _)| t.ticket.number)
        .collect();
    numbers.sort();
    assert_eq!(numbers, (1..=39).collect::<Vec<_>>(), "no gaps, no repeats");
    // Each ticket got its own events, and the log holds them once, in order.
    let mut ids: Vec<i64> = results
        .iter()
        .filter_map(|r| r.as_ref().ok())
        .flat_map(|(_, l)| l.iter().map(|e| e.id))
        .collect();
    let all = store.workspace_events(ws.id, 0, 1000).await.unwrap();
    ids.sort();
    assert_eq!(ids, all.iter().map(|e| e.id).collect::<Vec<_>>());
    assert_eq!(all.iter().filter(|e| e.kind.as_str() == "ticket.created").count(), 39);
    store.close().await;
}
