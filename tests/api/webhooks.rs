//! Stripe webhooks: signatures checked as Stripe documents, each event processed once.

use serde_json::{json, Value};

use crate::support::app::STRIPE_SECRET;
use crate::support::{spawn_app, TestApp};

async fn send(app: &TestApp, body: &str, signature: &str) -> reqwest::Response {
    app.client
        .post(app.url("/api/webhooks/stripe"))
        .header("content-type", "application/json")
        .header("stripe-signature", signature)
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

fn event(id: &str) -> String {
    json!({"id": id, "type": "invoice.paid", "created": 1_700_000_000, "data": {"object": {}}})
        .to_string()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

async fn stored(app: &TestApp) -> i64 {
    let client = app.state.db.get().await.unwrap();
    client
        .query_one("SELECT count(*) FROM stripe_events", &[])
        .await
        .unwrap()
        .get(0)
}

#[actix_web::test]
async fn a_valid_event_is_accepted_once_and_a_replay_is_acknowledged() {
    let app = spawn_app().await;
    let body = event("evt_1");
    let sig = unioneyes::stripe::sign(body.as_bytes(), STRIPE_SECRET.as_bytes(), now());
    let res = send(&app, &body, &sig).await;
    assert_eq!(res.status(), 200);
    let ack: Value = res.json().await.unwrap();
    assert_eq!(ack["duplicate"], false);
    let res = send(&app, &body, &sig).await;
    assert_eq!(res.status(), 200);
    let ack: Value = res.json().await.unwrap();
    assert_eq!(ack["duplicate"], true);
    assert_eq!(stored(&app).await, 1);
}

#[actix_web::test]
async fn bad_signatures_are_400_and_record_nothing() {
    let app = spawn_app().await;
    let body = event("evt_2");
    let t = now();
    let good = unioneyes::stripe::sign(body.as_bytes(), STRIPE_SECRET.as_bytes(), t);
    let tampered = body.replace("invoice.paid", "invoice.voided");
    let wrong_secret = unioneyes::stripe::sign(body.as_bytes(), b"whsec_wrong", t);
    let old = unioneyes::stripe::sign(body.as_bytes(), STRIPE_SECRET.as_bytes(), t - 301);
    for (payload, sig) in [
        (tampered.as_str(), good.as_str()),
        (body.as_str(), wrong_secret.as_str()),
        (body.as_str(), old.as_str()),
        (body.as_str(), "t=1,v1=zz"),
        (body.as_str(), ""),
    ] {
        let res = send(&app, payload, sig).await;
        assert_eq!(res.status(), 400, "{sig}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["code"], "invalid_signature");
    }
    assert_eq!(stored(&app).await, 0);
}

#[actix_web::test]
async fn any_of_several_v1_signatures_may_match() {
    let app = spawn_app().await;
    let body = event("evt_3");
    let t = now();
    let good = unioneyes::stripe::sign(body.as_bytes(), STRIPE_SECRET.as_bytes(), t);
    let other = unioneyes::stripe::sign(body.as_bytes(), b"whsec_rolled_secret", t);
    let other_sig = other.split("v1=").nth(1).unwrap();
    let header = format!("{good},v1={other_sig}");
    assert_eq!(send(&app, &body, &header).await.status(), 200);
    let header = format!(
        "t={t},v1={other_sig},{}",
        &good[good.find("v1=").unwrap()..]
    );
    let body4 = body.clone();
    assert_eq!(send(&app, &body4, &header).await.status(), 200);
}
