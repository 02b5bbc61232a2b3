//! `storedesk bench rules`: what a workspace's automation rules cost.
//!
//! 1. Evaluation alone: a workspace's rules (default 200, a mix of text,
//!    stemmed-word, channel, priority, label, team, contact-attribute and
//!    cart conditions; most match nothing) checked with
//!    `Conditions::matches` against a few thousand varied facts on one
//!    thread. No database, no actions.
//! 2. End to end: a real server on a fresh scratch database, tickets
//!    created over HTTP at a fixed concurrency, once with no rules and once
//!    (on another fresh database) with the rules in the workspace, of which
//!    about five act on a typical ticket (labels, a team). Prints creation
//!    latency and throughput, and how the rules consumer of the event log
//!    keeps up: its backlog while tickets arrive, the time from the last
//!    ticket's 201 until its saved position reaches the log's head, and the
//!    events it passed per second.
//!
//! Nothing here asserts; the figures are for a person to compare.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};

use super::{backends, cores, pct, Scratch};
use crate::domain::rules::{guess_language, Facts, RuleDef};
use crate::domain::{AuthorType, Channel, Priority, Status};

/// What to run.
pub struct Plan {
    /// Rules in the workspace (the figure is 200).
    pub rules: usize,
    /// Distinct facts (events) the evaluation runs over.
    pub events: usize,
    /// Tickets created over HTTP per end-to-end run.
    pub tickets: usize,
    pub concurrency: usize,
}

/// How long the end-to-end run waits for the rules consumer to catch up
/// before it reports that it did not.
const CATCH_UP_LIMIT: Duration = Duration::from_secs(300);

pub async fn run(plan: Plan, backend: &str, pg_admin_url: &str) -> anyhow::Result<()> {
    println!(
        "storedesk bench rules: {} rules; evaluation over {} events; {} tickets over HTTP, {} concurrent clients; {} cores",
        plan.rules,
        plan.events,
        plan.tickets,
        plan.concurrency,
        cores()
    );
    let (rules, events) = (plan.rules, plan.events);
    let eval = tokio::task::spawn_blocking(move || evaluate(rules, events)).await??;
    println!("{eval}");
    let (r, t) = (plan.rules, plan.tickets);
    let m = tokio::task::spawn_blocking(move || e2e_matches(r, t)).await??;
    println!(
        "Rules a new ticket of the end-to-end run matches, evaluated here on its facts, on average by trigger: {m}\n"
    );

    println!(
        "End to end: POST /api/v1/tickets on a fresh database per row; the rules consumer runs in the same process.\n\
         lag = from the last ticket's 201 until the consumer's saved position reaches the event head;\n\
         consumer ev/s = events it passed / (first ticket sent .. caught up); backlog = head - saved position, sampled every 10 ms\n\
         (the consumer saves its position at least once a second while busy, and at once when caught up)."
    );
    println!(
        "{:<9} {:>5} {:>9} {:>7} {:>7} {:>7} {:>6} {:>9} {:>8} {:>8} {:>9} {:>8}",
        "backend",
        "rules",
        "tickets/s",
        "p50 ms",
        "p99 ms",
        "max ms",
        "errors",
        "rule runs",
        "events",
        "lag ms",
        "cons ev/s",
        "backlog"
    );
    for b in backends(backend) {
        for n in [0, plan.rules] {
            let scratch = Scratch::start(b, pg_admin_url, false).await?;
            let r = once(&scratch, n, plan.tickets, plan.concurrency).await;
            scratch.finish().await?;
            let r = r?;
            let lag = match r.caught_up {
                Some(l) => format!("{:.0}", l.as_secs_f64() * 1000.0),
                None => format!(">{}s", CATCH_UP_LIMIT.as_secs()),
            };
            let consumer = match r.consumer_rate {
                Some(x) => format!("{x:.0}"),
                None => "-".into(),
            };
            println!(
                "{:<9} {:>5} {:>9.0} {:>7.2} {:>7.2} {:>7.2} {:>6} {:>9} {:>8} {:>8} {:>9} {:>8}",
                b,
                n,
                r.per_sec,
                pct(&r.latencies, 0.5),
                pct(&r.latencies, 0.99),
                pct(&r.latencies, 1.0),
                r.errors,
                r.rule_runs,
                r.events,
                lag,
                consumer,
                r.max_backlog,
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- rules

const TEXT_PHRASES: &[&str] = &[
    "gift card",
    "wholesale",
    "cracked screen",
    "promo code",
    "cancel my subscription",
    "invoice",
    "warranty",
    "missing item",
    "wrong colour",
    "return label",
    "chargeback",
    "unsubscribe",
    "out of stock",
    "pre-order",
    "bulk order",
    "tax exempt",
    "student discount",
    "loyalty points",
    "price match",
    "gift wrap",
];

const EN_WORDS: &[&str] = &[
    "refund",
    "exchange",
    "cancel",
    "broken",
    "invoice",
    "warranty",
    "complaint",
    "lawyer",
    "customs",
    "password",
    "account",
    "wholesale",
    "coupon",
    "voucher",
    "scam",
    "allergy",
    "recall",
    "battery",
    "charger",
    "assembly",
];

const RU_WORDS: &[&str] = &[
    "возврат",
    "гарантия",
    "скидка",
    "купон",
    "таможня",
    "жалоба",
    "счёт",
    "пароль",
    "курьер",
    "подписка",
    "брак",
    "претензия",
    "юрист",
    "рассрочка",
    "самовывоз",
];

const LABELS: &[&str] = &[
    "vip",
    "returning",
    "wholesale",
    "b2b",
    "gift",
    "preorder",
    "influencer",
    "press",
];

const DOMAINS: &[&str] = &[
    "bigcorp.com",
    "partner.example",
    "press.example",
    "gov.example",
    "school.example",
];

const COUNTRIES: &[&str] = &["CA", "AU", "NZ", "IE", "SG", "JP", "BR"];

/// Teams the rules name: support, Russian desk, escalations, B2B. The
/// evaluation uses made-up ids; the end-to-end run creates the teams.
type Teams = [i64; 4];

/// `n` rules as an admin would write them (JSON for `POST /api/v1/rules`).
/// Six are written for the end-to-end run's tickets and act on them (four
/// on every ticket, one on the Russian ones, one on the urgent ones); the
/// rest are the long tail of a store's rules, placed around them, each
/// looking for something most tickets do not have (a few of them, on
/// refunds, exchanges or breakages, do match some of the tickets).
fn rule_set(n: usize, teams: Teams) -> Vec<Value> {
    let [support, russian, escalations, _] = teams;
    let acting = vec![
        json!({"name":"Orders","event":"ticket.created",
            "conditions":{"any":[{"field":"subject","op":"matches_word","value":"order"},
                                 {"field":"subject","op":"matches_word","value":"заказ"}]},
            "actions":[{"type":"add_label","value":"order"}]}),
        json!({"name":"Inbound channels","event":"ticket.created",
            "conditions":{"all":[{"field":"channel","op":"in","value":["api","email","form","phone"]}]},
            "actions":[{"type":"add_label","value":"inbound"}]}),
        json!({"name":"Support queue","event":"ticket.created",
            "conditions":{"all":[{"field":"priority","op":"in","value":["low","normal","high"]},
                                 {"field":"team_id","op":"not_set"}]},
            "actions":[{"type":"set_team","team_id":support}]}),
        json!({"name":"Customer wrote about an order","event":"ticket.created",
            "conditions":{"all":[{"field":"author","op":"is","value":"contact"}],
                          "any":[{"field":"text","op":"contains","value":"order"},
                                 {"field":"text","op":"contains","value":"заказ"},
                                 {"field":"text","op":"contains","value":"parcel"},
                                 {"field":"text","op":"contains","value":"посылк"}]},
            "actions":[{"type":"add_label","value":"customer"}]}),
        json!({"name":"Russian desk","event":"ticket.created",
            "conditions":{"all":[{"field":"language","op":"is","value":"ru"}]},
            "actions":[{"type":"set_team","team_id":russian}]}),
        json!({"name":"Escalate urgent","event":"ticket.created",
            "conditions":{"all":[{"field":"priority","op":"is","value":"urgent"}]},
            "actions":[{"type":"set_team","team_id":escalations},{"type":"add_label","value":"urgent"}]}),
    ];
    let mut out: Vec<Value> = (0..n.saturating_sub(acting.len())).map(|i| filler(i, teams)).collect();
    let k = acting.len().min(n);
    for (j, r) in acting.into_iter().take(k).enumerate() {
        let at = ((2 * j + 1) * out.len() / (2 * k)).min(out.len());
        out.insert(at, r);
    }
    out
}

/// The `i`th rule of the long tail.
fn filler(i: usize, teams: Teams) -> Value {
    let [support, russian, escalations, b2b] = teams;
    let round = i / 13;
    // Seven is prime to every list's length: a kind's rules each pick
    // another entry.
    let pick = |list: &[&'static str], k: usize| list[(7 * round + 3 * k + i % 13) % list.len()];
    let phrase = pick(TEXT_PHRASES, 0);
    let (all, any): (Vec<Value>, Vec<Value>) = match i % 13 {
        0 => (vec![json!({"field":"subject","op":"contains","value":phrase})], vec![]),
        1 => (
            vec![
                json!({"field":"channel","op":"is","value":"email"}),
                json!({"field":"body","op":"contains","value":phrase}),
            ],
            vec![],
        ),
        2 => (
            vec![json!({"field":"text","op":"matches_word","value":pick(EN_WORDS, 1)})],
            vec![],
        ),
        3 => (
            vec![
                json!({"field":"author","op":"is","value":"contact"}),
                json!({"field":"body","op":"matches_word","value":pick(RU_WORDS, 2)}),
            ],
            vec![],
        ),
        4 => (
            vec![],
            vec![
                json!({"field":"subject","op":"contains","value":phrase}),
                json!({"field":"body","op":"contains","value":pick(TEXT_PHRASES, 3)}),
                json!({"field":"subject","op":"matches_word","value":pick(EN_WORDS, 4)}),
                json!({"field":"subject","op":"matches_word","value":pick(RU_WORDS, 5)}),
            ],
        ),
        5 => (
            vec![
                json!({"field":"channel","op":"in","value":["chat","telegram","messenger"]}),
                json!({"field":"priority","op":"is","value":"urgent"}),
            ],
            vec![],
        ),
        6 => (
            vec![
                json!({"field":"labels","op":"has","value":pick(LABELS, 6)}),
                json!({"field":"priority","op":"in","value":["high","urgent"]}),
            ],
            vec![],
        ),
        7 => (
            vec![
                json!({"field":"contact_attribute","key":"plan","op":"is","value":"gold"}),
                json!({"field":"cart_value","op":"gt","value":200 + 50 * round}),
            ],
            vec![],
        ),
        8 => (
            vec![json!({"field":"contact_attribute","key":"orders","op":"gte","value":12 + 4 * round})],
            vec![],
        ),
        9 => (
            vec![json!({"field":"cart_value","op":"gte","value":400 + 100 * round})],
            vec![],
        ),
        10 => (
            vec![json!({"field":"contact_email_domain","op":"in","value":[pick(DOMAINS, 7), pick(DOMAINS, 8)]})],
            vec![],
        ),
        11 => (
            vec![
                json!({"field":"team_id","op":"in","value":[b2b]}),
                json!({"field":"status","op":"is","value":"open"}),
                json!({"field":"text","op":"contains","value":phrase}),
            ],
            vec![],
        ),
        _ => (
            vec![
                json!({"field":"author","op":"is","value":"contact"}),
                json!({"field":"language","op":"is","value":pick(&["uk", "fa", "de", "pl", "tr"], 10)}),
            ],
            vec![
                json!({"field":"page_url","op":"contains","value":format!("/checkout/step-{}", round + 3)}),
                json!({"field":"contact_attribute","key":"country","op":"is","value":pick(COUNTRIES, 11)}),
            ],
        ),
    };
    let action = match i % 5 {
        0 => json!({"type":"add_label","value":format!("{}-{}", pick(LABELS, 9), i)}),
        1 => json!({"type":"set_priority","value":"high"}),
        2 => json!({"type":"set_team","team_id":([support, russian, escalations, b2b][i % 4])}),
        3 => json!({"type":"add_note","body":format!("Rule {i}: check this one before answering.")}),
        _ => json!({"type":"notify","to":"admins"}),
    };
    let event = if i % 10 == 3 {
        "message.created"
    } else if i % 25 == 7 {
        "ticket.updated"
    } else {
        "ticket.created"
    };
    json!({
        "name": format!("Tail rule {i}"),
        "event": event,
        "conditions": {"all": all, "any": any},
        "actions": [action],
    })
}

// ---------------------------------------------------------------- texts

const EN: &[(&str, &str)] = &[
    (
        "Where is my order {n}?",
        "Hello, I ordered a jacket last week and the tracking page still says the parcel is at the warehouse. Could you check what is going on? Thanks, Anna",
    ),
    (
        "Order {n} paid but not shown",
        "I paid for my order an hour ago, the money is gone but the order is not in my account. Please help.",
    ),
    (
        "Change the delivery address for order {n}",
        "Hi! I moved last weekend. Can you send the parcel to 12 Baker Street instead? The order has not shipped yet, I think.",
    ),
    (
        "Order {n} arrived damaged",
        "The box was crushed and the mug inside is broken. I attach a photo. What should I do now?",
    ),
    (
        "Refund for order {n}",
        "I returned the shoes two weeks ago and still have no refund. The courier confirmed delivery to your warehouse.",
    ),
    (
        "Question about my order {n}",
        "Do you ship to Canada, and how long does it usually take? I would like to order a few gifts before the holidays.",
    ),
    (
        "Promo code did not apply to order {n}",
        "I entered the promo code SPRING20 at checkout but the discount was not applied. Can you fix the price?",
    ),
    (
        "Wrong size in order {n}, can I exchange it?",
        "The dress is too small. Can I exchange it for a larger size, or do I have to send it back and order again?",
    ),
];

const RU: &[(&str, &str)] = &[
    (
        "Где мой заказ {n}?",
        "Здравствуйте! Заказала куртку на прошлой неделе, а посылка до сих пор на складе. Подскажите, когда отправите?",
    ),
    (
        "Заказ {n} оплачен, но не отображается",
        "Оплатил заказ час назад, деньги списались, а в личном кабинете заказа нет. Помогите, пожалуйста.",
    ),
    (
        "Возврат по заказу {n}",
        "Вернула туфли две недели назад, курьер доставил их на склад, а деньги так и не пришли.",
    ),
    (
        "Вопрос по заказу {n}",
        "Коробка пришла мятая, кружка внутри разбита. Фото прикладываю. Что делать с заказом?",
    ),
    (
        "Заказ {n}: пришёл не тот размер",
        "Платье оказалось мало. Можно обменять на размер больше или нужно оформлять новый заказ?",
    ),
];

const UK: &[(&str, &str)] = &[
    (
        "Де моє замовлення {n}?",
        "Добрий день! Замовлення досі не прийшло, трекінг не оновлюється вже тиждень. Підкажіть, будь ласка, що сталося.",
    ),
    (
        "Повернення коштів за замовлення {n}",
        "Я повернула товар десять днів тому, але гроші так і не надійшли на картку.",
    ),
];

fn text(list: &[(&str, &str)], k: usize, n: usize) -> (String, String) {
    let (s, b) = list[k % list.len()];
    (s.replace("{n}", &n.to_string()), b.to_string())
}

/// A long e-mail: the message and the thread quoted under it.
fn quoted(body: &str, rng: &mut StdRng) -> String {
    let mut out = format!("{body}\n\nOn Monday you wrote:\n");
    for _ in 0..4 {
        let (_, b) = EN[rng.gen_range(0..EN.len())];
        for line in b.split(". ") {
            out.push_str("> ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Varied facts as the consumer gathers them for a ticket and an event.
fn facts_set(n: usize) -> Vec<Facts> {
    let mut rng = StdRng::seed_from_u64(20261130);
    let channels = [
        Channel::Api,
        Channel::Email,
        Channel::Chat,
        Channel::Form,
        Channel::Phone,
        Channel::Telegram,
        Channel::Messenger,
    ];
    let mail_domains = [
        "gmail.com",
        "mail.ru",
        "yandex.ru",
        "outlook.com",
        "icloud.com",
        "bigcorp.com",
        "partner.example",
    ];
    (0..n)
        .map(|i| {
            let lang = rng.gen_range(0..100);
            let (subject, mut body) = match lang {
                0..=54 => text(EN, rng.gen_range(0..EN.len()), 10_000 + i),
                55..=89 => text(RU, rng.gen_range(0..RU.len()), 10_000 + i),
                _ => text(UK, rng.gen_range(0..UK.len()), 10_000 + i),
            };
            if rng.gen_bool(0.1) {
                body = quoted(&body, &mut rng);
            }
            let channel = channels[rng.gen_range(0..channels.len())];
            let status = match rng.gen_range(0..100) {
                0..=84 => Status::Open,
                85..=94 => Status::Pending,
                _ => Status::Resolved,
            };
            let priority = match rng.gen_range(0..100) {
                0..=69 => Priority::Normal,
                70..=79 => Priority::Low,
                80..=94 => Priority::High,
                _ => Priority::Urgent,
            };
            let mut f = Facts::new(channel, status, priority, subject, body);
            f.team_id = rng.gen_bool(0.5).then(|| rng.gen_range(1..=4));
            f.assignee_id = rng.gen_bool(0.3).then(|| rng.gen_range(10..16));
            f.labels = (0..rng.gen_range(0..3))
                .map(|_| LABELS[rng.gen_range(0..LABELS.len())].to_string())
                .collect();
            f.email_domain = Some(mail_domains[rng.gen_range(0..mail_domains.len())].to_string());
            if rng.gen_bool(0.6) {
                f.attributes = json!({
                    "plan": (["gold", "silver", "free"][rng.gen_range(0..3)]),
                    "orders": rng.gen_range(0..30),
                    "vip": rng.gen_bool(0.1),
                    "country": (["DE", "RU", "US", "UA", "CA"][rng.gen_range(0..5)]),
                });
            }
            f.language = guess_language(&format!("{} {}", f.subject, f.body)).to_string();
            f.open = rng.gen_bool(0.7);
            if channel == Channel::Chat {
                f.page_url = format!("https://shop.example/checkout/step-{}", rng.gen_range(1..6));
                f.cart_value = rng.gen_bool(0.5).then(|| rng.gen_range(10.0..900.0));
            }
            f.author = Some(match rng.gen_range(0..100) {
                0..=84 => AuthorType::Contact,
                85..=94 => AuthorType::Agent,
                _ => AuthorType::System,
            });
            if rng.gen_bool(0.2) {
                f.changed = vec![["status", "priority", "team_id"][rng.gen_range(0..3)].to_string()];
            }
            f
        })
        .collect()
}

// ----------------------------------------------------------- evaluation

/// Checks every rule against every event, on this thread: a few passes,
/// each over fresh facts (the text's stems are made once per event, on the
/// first word condition, as in the consumer), and once more over the same
/// facts with their stems already made.
fn evaluate(n_rules: usize, n_events: usize) -> anyhow::Result<String> {
    let rules: Vec<RuleDef> = rule_set(n_rules, [1, 2, 3, 4])
        .iter()
        .map(|v| RuleDef::parse(v, None).map_err(|e| anyhow::anyhow!("{}: {e}", v["name"])))
        .collect::<anyhow::Result<_>>()?;
    let templates = facts_set(n_events.max(1));
    let text_bytes: usize = templates.iter().map(|f| f.subject.len() + f.body.len()).sum();
    const PASSES: usize = 5;
    let mut fresh = Vec::with_capacity(PASSES);
    let mut cached = Vec::with_capacity(PASSES);
    let mut matched = 0usize;
    let mut matched_events = 0usize;
    // One pass more than measured: the first warms the analyser and caches.
    for pass in 0..=PASSES {
        let batch = templates.clone();
        let t = Instant::now();
        let mut m = 0usize;
        let mut me = 0usize;
        for f in &batch {
            let before = m;
            for r in &rules {
                if r.conditions.matches(f) {
                    m += 1;
                }
            }
            me += usize::from(m > before);
        }
        let first = t.elapsed();
        let t = Instant::now();
        let mut again = 0usize;
        for f in &batch {
            for r in &rules {
                again += usize::from(r.conditions.matches(f));
            }
        }
        let second = t.elapsed();
        anyhow::ensure!(again == m, "the same facts matched differently ({again} vs {m})");
        if pass > 0 {
            fresh.push(first);
            cached.push(second);
        }
        (matched, matched_events) = (m, me);
    }
    fresh.sort();
    cached.sort();
    let (ev, nr) = (templates.len() as f64, rules.len() as f64);
    let line = |label: &str, times: &[Duration]| {
        let best = times[0].as_secs_f64();
        let median = times[times.len() / 2].as_secs_f64();
        format!(
            "{label:<34} {:>13.0} {:>10.0} {:>12.2} {:>13.0} {:>10.0}",
            ev * nr / best,
            ev / best,
            best / ev * 1e6,
            ev * nr / median,
            ev / median
        )
    };
    let word_rules = rules
        .iter()
        .filter(|r| {
            r.conditions
                .all
                .iter()
                .chain(&r.conditions.any)
                .any(|c| c.op == crate::domain::rules::Op::MatchesWord)
        })
        .count();
    Ok(format!(
        "Evaluation alone (one thread, Conditions::matches; {} rules, {word_rules} with a stemmed-word condition; \
         {} events, {:.0} bytes of text each on average;\n\
         {PASSES} passes, best and median; every rule checked on every event, whatever its trigger):\n\
         {:<34} {:>13} {:>10} {:>12} {:>13} {:>10}\n{}\n{}\n\
         matches: {matched} of {} rule checks ({:.2} rules per event; {matched_events} of {} events matched at least one)\n",
        rules.len(),
        templates.len(),
        text_bytes as f64 / ev,
        "",
        "rules/s best",
        "events/s",
        "us/event",
        "rules/s median",
        "events/s",
        line("fresh facts (stems made per event)", &fresh),
        line("stems already made", &cached),
        templates.len() * rules.len(),
        matched as f64 / ev,
        templates.len(),
    ))
}

/// How many of the rules the end-to-end run's tickets match, by trigger,
/// evaluated here as the consumer would (the customer wrote them; the
/// language guessed from the text): what the "rule runs" column should
/// roughly be, before one rule's change makes a later one match or not.
fn e2e_matches(n_rules: usize, tickets: usize) -> anyhow::Result<String> {
    let rules: Vec<RuleDef> = rule_set(n_rules, [1, 2, 3, 4])
        .iter()
        .map(|v| RuleDef::parse(v, None).map_err(|e| anyhow::anyhow!("{}: {e}", v["name"])))
        .collect::<anyhow::Result<_>>()?;
    let mut per_trigger = std::collections::BTreeMap::<&str, usize>::new();
    for i in 0..tickets.max(1) {
        let t = ticket(i);
        let s = |k: &str| t[k].as_str().unwrap_or("").to_string();
        let mut f = Facts::new(
            Channel::parse("channel", &s("channel"))?,
            Status::Open,
            Priority::parse("priority", &s("priority"))?,
            s("subject"),
            s("message"),
        );
        f.labels = t["labels"]
            .as_array()
            .map(|a| a.iter().filter_map(|l| l.as_str().map(str::to_string)).collect())
            .unwrap_or_default();
        f.email_domain = t["contact"]["email"]
            .as_str()
            .and_then(|e| e.rsplit_once('@'))
            .map(|(_, d)| d.to_string());
        f.language = guess_language(&format!("{} {}", f.subject, f.body)).to_string();
        f.author = Some(AuthorType::Contact);
        for r in &rules {
            let hits = per_trigger.entry(r.event.as_str()).or_default();
            *hits += usize::from(r.conditions.matches(&f));
        }
    }
    let n = tickets.max(1) as f64;
    Ok(per_trigger
        .iter()
        .map(|(k, m)| format!("{k} {:.2}", *m as f64 / n))
        .collect::<Vec<_>>()
        .join(", "))
}

// ----------------------------------------------------------- end to end

struct Outcome {
    per_sec: f64,
    latencies: Vec<Duration>,
    errors: usize,
    /// Rule runs that acted (the process's `storedesk_rule_runs_total`
    /// over the run).
    rule_runs: u64,
    /// Events written from the first ticket until the consumer caught up.
    events: i64,
    caught_up: Option<Duration>,
    consumer_rate: Option<f64>,
    max_backlog: i64,
}

async fn once(s: &Scratch, n_rules: usize, tickets: usize, concurrency: usize) -> anyhow::Result<Outcome> {
    let client = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;
    let base = format!("http://{}/api/v1", s.addr);
    if n_rules > 0 {
        let mut teams = [0i64; 4];
        for (t, name) in teams.iter_mut().zip(["Support", "Russian desk", "Escalations", "B2B"]) {
            let r = client
                .post(format!("{base}/teams"))
                .bearer_auth(&s.token)
                .json(&json!({ "name": name }))
                .send()
                .await?;
            anyhow::ensure!(r.status() == reqwest::StatusCode::CREATED, "team: {}", r.status());
            *t = r.json::<Value>().await?["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("team without id"))?;
        }
        for rule in rule_set(n_rules, teams) {
            let r = client
                .post(format!("{base}/rules"))
                .bearer_auth(&s.token)
                .json(&rule)
                .send()
                .await?;
            let status = r.status();
            anyhow::ensure!(
                status == reqwest::StatusCode::CREATED,
                "rule {}: {status} {}",
                rule["name"],
                r.text().await.unwrap_or_default()
            );
        }
    }
    // Start with the consumer caught up on the setup's events.
    anyhow::ensure!(
        wait_caught_up(s, Duration::from_secs(60)).await?,
        "the rules consumer did not catch up with the setup's events within a minute"
    );
    let runs_before = rule_runs();
    let head_before = s.store.event_head().await?;

    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let monitor = {
        let (store, done) = (s.store.clone(), done.clone());
        tokio::spawn(async move {
            let mut max_backlog = 0i64;
            loop {
                // Position first: a head read after it bounds what it has
                // passed, even while the consumer's own actions add events.
                let pos = store.consumer_position(crate::events::rules::NAME).await?.unwrap_or(0);
                let head = store.event_head().await?;
                max_backlog = max_backlog.max(head - pos);
                if done.load(Ordering::Acquire) && pos >= head {
                    return anyhow::Ok((Some(Instant::now()), head, max_backlog));
                }
                if start.elapsed() > CATCH_UP_LIMIT {
                    return anyhow::Ok((None, head, max_backlog));
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
    };

    let next = Arc::new(AtomicUsize::new(0));
    let workers: Vec<_> = (0..concurrency.max(1))
        .map(|_| {
            let (client, endpoint, token, next) =
                (client.clone(), format!("{base}/tickets"), s.token.clone(), next.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let mut errors = 0;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= tickets {
                        break;
                    }
                    let body = ticket(i);
                    let t = Instant::now();
                    match client.post(&endpoint).bearer_auth(&token).json(&body).send().await {
                        Ok(r) if r.status() == reqwest::StatusCode::CREATED => lat.push(t.elapsed()),
                        _ => errors += 1,
                    }
                }
                (lat, errors)
            })
        })
        .collect();
    let mut latencies = Vec::with_capacity(tickets);
    let mut errors = 0;
    for w in workers {
        let (l, e) = w.await?;
        latencies.extend(l);
        errors += e;
    }
    let created = start.elapsed();
    let last_created = Instant::now();
    done.store(true, Ordering::Release);
    let (caught, head_after, max_backlog) = monitor.await??;
    latencies.sort();
    let events = head_after - head_before;
    Ok(Outcome {
        per_sec: latencies.len() as f64 / created.as_secs_f64(),
        latencies,
        errors,
        rule_runs: rule_runs().saturating_sub(runs_before),
        events,
        caught_up: caught.map(|c| c.saturating_duration_since(last_created)),
        consumer_rate: caught.map(|c| events as f64 / (c - start).as_secs_f64()),
        max_backlog,
    })
}

/// Waits until the rules consumer's saved position is at the log's head.
async fn wait_caught_up(s: &Scratch, limit: Duration) -> anyhow::Result<bool> {
    let t = Instant::now();
    while t.elapsed() < limit {
        let pos = s.store.consumer_position(crate::events::rules::NAME).await?;
        let head = s.store.event_head().await?;
        if pos.is_some_and(|p| p >= head) {
            return Ok(true);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(false)
}

/// The `i`th ticket: two in three English, one in three Russian, on the
/// channels a store's API takes, mostly normal priority.
fn ticket(i: usize) -> Value {
    let n = 10_000 + i;
    let (subject, message) = if i % 3 == 2 {
        text(RU, i / 3, n)
    } else {
        text(EN, i / 3, n)
    };
    let priority = if i.is_multiple_of(20) {
        "urgent"
    } else if i.is_multiple_of(7) {
        "high"
    } else if i.is_multiple_of(11) {
        "low"
    } else {
        "normal"
    };
    let labels: Vec<&str> = match i % 9 {
        0 => vec!["vip"],
        4 => vec!["returning"],
        _ => vec![],
    };
    json!({
        "subject": subject,
        "message": message,
        "channel": (["api", "email", "form", "phone"][i % 4]),
        "priority": priority,
        "labels": labels,
        "contact": {
            "email": format!("shopper{}@{}", i % 1000, ["bench.test", "mail.test", "inbox.test"][i % 3]),
            "name": format!("Shopper {}", i % 1000),
        },
    })
}

/// `storedesk_rule_runs_total` as the process's recorder renders it (0
/// before the first run).
fn rule_runs() -> u64 {
    let text = crate::telemetry::metrics_handle().render();
    text.lines()
        .filter(|l| l.starts_with("storedesk_rule_runs_total"))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}
