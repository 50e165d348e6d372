//! The members CSV export: quoting, formula neutralisation, no SINs, thousands of rows.

use reqwest::Method;
use serde_json::json;

use crate::support::spawn_app;
use crate::support::tokens::Spec;

#[actix_web::test]
async fn csv_quotes_neutralises_formulas_and_never_includes_sins() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    app.create_member(
        &admin,
        json!({"firstName": "=HYPERLINK(\"http://x\",\"y\")", "lastName": "O'Brien, Jr.", "email": "x@u.org", "memberNumber": "+15", "sin": "046454286"}),
    )
    .await;
    let res = app
        .as_user(Method::GET, "/api/exports/members.csv", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let text = res.text().await.unwrap();
    let mut lines = text.split("\r\n");
    assert_eq!(
        lines.next().unwrap(),
        "id,first_name,last_name,email,member_number,status,created_at,updated_at"
    );
    let row = lines.next().unwrap();
    assert!(
        row.contains(r#""'=HYPERLINK(""http://x"",""y"")""#),
        "{row}"
    );
    assert!(row.contains(r#""O'Brien, Jr.""#), "{row}");
    assert!(row.contains(",'+15,"), "{row}");
    assert!(
        !text.contains("046454286") && !text.contains("286"),
        "{text}"
    );
}

#[actix_web::test]
async fn a_few_thousand_rows_stream_out() {
    let app = spawn_app().await;
    let admin = Spec::new("u", "org_a", "org:admin").sign();
    // Resolve the organization through the API, then bulk-insert rows for speed.
    let res = app
        .as_user(Method::GET, "/api/members", &admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let client = app.state.db.get().await.unwrap();
    client
        .execute(
            "INSERT INTO members (id, organization_id, first_name, last_name, email) \
             SELECT gen_random_uuid(), o.id, 'F' || g, 'L' || g, 'm' || g || '@u.org' \
             FROM organizations o, generate_series(1, 3000) g WHERE o.external_id = 'org_a'",
            &[],
        )
        .await
        .unwrap();
    let text = app
        .as_user(Method::GET, "/api/exports/members.csv", &admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(text.matches("\r\n").count(), 3001);
    let member = Spec::new("m", "org_a", "org:member").sign();
    let res = app
        .as_user(Method::GET, "/api/exports/members.csv", &member)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
}
