use super::*;

fn rule(v: Value) -> Result<RuleDef, Invalid> {
    RuleDef::parse(&v, None)
}

fn facts() -> Facts {
    let mut f = Facts::new(
        Channel::Email,
        Status::Open,
        Priority::Normal,
        "Refund for order 1234".into(),
        "Hello, I want my money back. The parcel never arrived.".into(),
    );
    f.team_id = Some(3);
    f.labels = vec!["vip".into()];
    f.email_domain = Some("example.com".into());
    f.attributes = json!({"plan": "gold", "orders": 12});
    f.language = "en".into();
    f.page_url = "https://shop.example/checkout?step=2".into();
    f.cart_value = Some(79.8);
    f.author = Some(AuthorType::Contact);
    f.changed = vec!["status".into()];
    f
}

fn cond(field: &str, op: &str, value: Value) -> bool {
    let c = Condition::parse(&json!({"field": field, "op": op, "value": value})).unwrap();
    c.matches(&facts())
}

#[test]
fn the_issue_example_parses() {
    let r = rule(json!({"name":"Refunds to Payments","event":"ticket.created","conditions":{"all":[{"field":"subject","op":"contains","value":"refund"}]},"actions":[{"type":"set_team","team_id":3},{"type":"add_label","value":"refund"},{"type":"set_priority","value":"high"}],"enabled":true})).unwrap();
    assert_eq!(r.event, Trigger::TicketCreated);
    assert_eq!(r.actions.len(), 3);
    assert!(r.conditions.matches(&facts()));
    assert_eq!(r.referenced(), (vec![3], vec![]));
    // What it serialises to parses back to the same rule.
    assert_eq!(RuleDef::parse(&json!(r), None).unwrap(), r);
}

#[test]
fn bad_rules_name_what_is_wrong() {
    let base = json!({"name":"x","event":"ticket.created","actions":[{"type":"close"}]});
    let with = |k: &str, v: Value| {
        let mut b = base.clone();
        b[k] = v;
        rule(b).unwrap_err().to_string()
    };
    assert!(with("event", json!("ticket.deleted")).contains("ticket.created"));
    assert!(with(
        "conditions",
        json!({"all":[{"field":"colour","op":"is","value":"red"}]})
    )
    .contains("'colour' is not one of"));
    assert!(with(
        "conditions",
        json!({"all":[{"field":"status","op":"gt","value":"open"}]})
    )
    .contains("does not apply to status"));
    assert!(with(
        "conditions",
        json!({"all":[{"field":"status","op":"is","value":"done"}]})
    )
    .contains("'done' is not one of"));
    assert!(with("conditions", json!({"all":[{"field":"team_id","op":"is","value":"x"}]})).contains("ids"));
    assert!(with("conditions", json!({"some":[]})).contains("unknown key"));
    assert!(with("actions", json!([{"type":"explode"}])).contains("'explode' is not one of"));
    assert!(with("actions", json!([{"type":"webhook"}])).contains("webhook_id"));
    assert!(with("actions", json!([{"type":"webhook","webhook_id":0}])).contains("webhook_id"));
    assert!(with("actions", json!([{"type":"webhook","webhook_id":3,"url":"x"}])).contains("does not take 'url'"));
    assert_eq!(
        parse_action(&json!({"type":"webhook","webhook_id":3})).unwrap(),
        Action::Webhook { webhook_id: 3 }
    );
    let timed =
        rule(json!({"name":"a","event":"time.pending","minutes":60,"actions":[{"type":"webhook","webhook_id":3}]}));
    assert!(timed.unwrap_err().to_string().contains("time-based rules have none"));
    assert!(with("actions", json!([{"type":"set_team"}])).contains("team_id"));
    assert!(with(
        "actions",
        json!([{"type":"send_email","to":"not mail","subject":"s","body":"b"}])
    )
    .contains("to"));
    assert!(with("actions", json!([])).contains("1 to 20"));
    assert!(with("minutes", json!(5)).contains("only time-based"));
    assert!(with("colour", json!(1)).contains("unknown field 'colour'"));
    let timer = json!({"name":"x","event":"time.pending","actions":[{"type":"close"}]});
    assert!(rule(timer).unwrap_err().to_string().contains("minutes: is required"));
    let too_many: Vec<Value> = (0..31)
        .map(|_| json!({"field":"status","op":"is","value":"open"}))
        .collect();
    assert!(with("conditions", json!({"all": too_many})).contains("at most 30"));
    assert!(with("name", json!("   ")).contains("name"));
}

#[test]
fn patches_keep_what_they_do_not_name() {
    let r =
        rule(json!({"name":"a","event":"time.pending","minutes":60,"actions":[{"type":"close"}],"stop":true})).unwrap();
    let p = RuleDef::parse(&json!({"enabled": false}), Some(&r)).unwrap();
    assert_eq!(
        (p.enabled, p.stop, p.minutes, p.name.as_str()),
        (false, true, Some(60), "a")
    );
    assert!(
        RuleDef::parse(&json!({"event": "ticket.created"}), Some(&r)).is_ok(),
        "minutes go with the timer event"
    );
}

#[test]
fn each_kind_of_condition() {
    assert!(cond("channel", "is", json!("email")));
    assert!(cond("channel", "in", json!(["chat", "email"])));
    assert!(!cond("channel", "not_in", json!(["chat", "email"])));
    assert!(cond("status", "is_not", json!("pending")));
    assert!(cond("priority", "is", json!("normal")));
    assert!(cond("team_id", "is", json!(3)));
    assert!(cond("team_id", "in", json!([1, 3])));
    assert!(!cond("assignee_id", "is_set", Value::Null));
    assert!(cond("assignee_id", "not_set", Value::Null));
    assert!(cond("labels", "has", json!("VIP")));
    assert!(cond("labels", "has_not", json!("refund")));
    assert!(cond("subject", "contains", json!("REFUND")));
    assert!(cond("subject", "starts_with", json!("refund")));
    assert!(cond("body", "not_contains", json!("invoice")));
    assert!(cond("text", "contains", json!("parcel")));
    assert!(cond("contact_email_domain", "is", json!("example.com")));
    assert!(cond("language", "in", json!(["en", "ru"])));
    assert!(cond("business_hours", "is", json!("open")));
    assert!(!cond("business_hours", "is", json!("closed")));
    assert!(cond("page_url", "contains", json!("/checkout")));
    assert!(cond("page_url", "starts_with", json!("https://shop.example/")));
    assert!(cond("cart_value", "gt", json!(50)));
    assert!(!cond("cart_value", "lt", json!(50)));
    assert!(cond("author", "is", json!("contact")));
    assert!(cond("changed", "has", json!("status")));
    let attr = |op: &str, v: Value| {
        let c = Condition::parse(&json!({"field":"contact_attribute","key":"plan","op":op,"value":v})).unwrap();
        c.matches(&facts())
    };
    assert!(attr("is", json!("Gold")));
    assert!(attr("contains", json!("ol")));
    assert!(attr("is_set", Value::Null));
    let orders = Condition::parse(&json!({"field":"contact_attribute","key":"orders","op":"gte","value":10})).unwrap();
    assert!(orders.matches(&facts()));
    let missing =
        Condition::parse(&json!({"field":"contact_attribute","key":"nope","op":"is_not","value":"x"})).unwrap();
    assert!(missing.matches(&facts()), "a missing attribute is not x");
}

#[test]
fn words_match_in_every_language_by_stem() {
    // "arrived" in the body matches "arrive"; "refunds" the subject's "Refund".
    assert!(cond("text", "matches_word", json!("arrive")));
    assert!(cond("text", "matches_word", json!("refunds")));
    assert!(!cond("text", "matches_word", json!("invoice")));
    let mut f = facts();
    f.body = "Верните деньги за заказ, посылка не пришла".into();
    f.subject = "Повернення коштів".into();
    let m = |v: &str| {
        Condition::parse(&json!({"field":"text","op":"matches_word","value":v}))
            .unwrap()
            .matches(&f)
    };
    assert!(m("посылку"), "Russian forms share a stem");
    assert!(m("деньгами"));
    assert!(m("повернення"));
    let mut fa = facts();
    fa.body = "سفارش من هنوز نرسیده است".into();
    assert!(
        Condition::parse(&json!({"field":"body","op":"matches_word","value":"سفارش"}))
            .unwrap()
            .matches(&fa)
    );
    // A value of stop words only could never match: refused up front.
    assert!(Condition::parse(&json!({"field":"text","op":"matches_word","value":"the"})).is_err());
}

#[test]
fn all_and_any() {
    let c = Conditions::parse(&json!({
        "all": [{"field":"channel","op":"is","value":"email"}],
        "any": [{"field":"priority","op":"is","value":"high"}, {"field":"labels","op":"has","value":"vip"}]
    }))
    .unwrap();
    assert!(c.matches(&facts()));
    let c = Conditions::parse(&json!({"any": [{"field":"priority","op":"is","value":"high"}]})).unwrap();
    assert!(!c.matches(&facts()));
    assert!(Conditions::default().matches(&facts()), "no conditions: always");
}

#[test]
fn languages_are_guessed_by_letters() {
    assert_eq!(guess_language("Where is my order?"), "en");
    assert_eq!(guess_language("Где мой заказ?"), "ru");
    assert_eq!(guess_language("Де моє замовлення?"), "uk");
    assert_eq!(guess_language("سفارش من کجاست؟"), "fa");
    assert_eq!(Facts::cart_from_context(&json!({"cart": {"total": 79.8}})), Some(79.8));
    assert_eq!(Facts::cart_from_context(&json!({"cart_value": "12.5"})), Some(12.5));
}

#[test]
fn hostile_rules_are_bounded() {
    let long = "a".repeat(VALUE_MAX + 1);
    assert!(Condition::parse(&json!({"field":"subject","op":"contains","value":long})).is_err());
    let many: Vec<Value> = (0..101).map(|i| json!(i + 1)).collect();
    assert!(Condition::parse(&json!({"field":"team_id","op":"in","value":many})).is_err());
    assert!(rule(json!({"name":"x","event":"time.sla_due","minutes": i64::MAX,"actions":[{"type":"close"}]})).is_err());
    assert!(rule(json!([1, 2])).is_err());
}

#[test]
fn kinds_are_set_and_matched() {
    let set = |a: Value| parse_action(&a).map_err(|e| e.to_string());
    assert_eq!(
        set(json!({"type":"set_kind","kind":"bug"})).unwrap(),
        Action::SetKind {
            kind: RequestKind::Bug,
            feature: None
        }
    );
    let gift = set(json!({"type":"set_kind","kind":"missing_feature","feature":"  Gift wrapping "})).unwrap();
    assert_eq!(
        gift,
        Action::SetKind {
            kind: RequestKind::MissingFeature,
            feature: Some("Gift wrapping".into())
        }
    );
    // Stored as written, read back the same.
    assert_eq!(
        json!(gift),
        json!({"type":"set_kind","kind":"missing_feature","feature":"Gift wrapping"})
    );
    assert_eq!(parse_action(&json!(gift)).unwrap(), gift);
    let e = set(json!({"type":"set_kind","kind":"complaint"})).unwrap_err();
    assert!(
        e.contains("question, order_problem, bug, missing_feature, unclear_feature"),
        "{e}"
    );
    assert!(set(json!({"type":"set_kind"}))
        .unwrap_err()
        .contains("kind: is required"));
    assert!(set(json!({"type":"set_kind","kind":"bug","feature":"Gift wrapping"}))
        .unwrap_err()
        .contains("only a missing_feature ticket"));
    assert!(
        set(json!({"type":"set_kind","kind":"missing_feature","feature":"x".repeat(101)}))
            .unwrap_err()
            .contains("limit is 100")
    );
    assert!(set(json!({"type":"set_kind","kind":"bug","value":"bug"}))
        .unwrap_err()
        .contains("does not take 'value'"));
    assert!(set(json!({"type":"explode"})).unwrap_err().contains("set_kind"));

    // Unset, a kind matches nothing it names and every "is not".
    assert!(cond("kind", "not_set", Value::Null));
    assert!(!cond("kind", "is", json!("bug")));
    assert!(cond("kind", "is_not", json!("bug")));
    assert!(cond("kind", "not_in", json!(["bug", "question"])));
    let mut f = facts();
    f.apply(std::slice::from_ref(&gift));
    assert_eq!(f.kind, Some(RequestKind::MissingFeature));
    let c = |op: &str, v: Value| {
        Condition::parse(&json!({"field":"kind","op":op,"value":v}))
            .unwrap()
            .matches(&f)
    };
    assert!(c("is", json!("missing_feature")));
    assert!(c("in", json!(["bug", "missing_feature"])));
    assert!(!c("is_not", json!("missing_feature")));
    assert!(c("is_set", Value::Null));
    let bad = Condition::parse(&json!({"field":"kind","op":"is","value":"complaint"})).unwrap_err();
    assert!(bad.to_string().contains("'complaint' is not one of"), "{bad}");
    assert!(Condition::parse(&json!({"field":"kind","op":"contains","value":"bug"}))
        .unwrap_err()
        .to_string()
        .contains("does not apply to kind"));
    // A rule that sorts bug reports parses, and what it serialises to
    // parses back to the same rule.
    let r = rule(json!({"name":"Bugs","event":"ticket.created",
        "conditions":{"all":[{"field":"subject","op":"contains","value":"error"},{"field":"kind","op":"not_set"}]},
        "actions":[{"type":"set_kind","kind":"bug"}]}))
    .unwrap();
    assert_eq!(RuleDef::parse(&json!(r), None).unwrap(), r);
}
