//! `/api/docs`: the OpenAPI document as one server-rendered page under the console's policy —
//! every operation of the document (method, path, summary, who may call it, parameters, bodies)
//! and every schema, escaped, without a session.

use crate::pages::assert_page;
use holdfast_testkit::{Method, TestApp};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_docs_page_shows_every_operation_and_schema_of_the_document() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/api/v1/openapi.json").expect(200).await.json;
    let page = app.browser(Method::GET, "/api/docs").expect(200).await;
    assert_page(&page);
    // Only the console's own files are scripts; nothing inline.
    assert_eq!(page.text.matches("<script").count(), 2);
    assert!(!page.text.contains(" style="));
    let mut operations = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let anchor = format!("id=\"op-{}\"", op["operationId"].as_str().unwrap());
            let at = page
                .text
                .find(&anchor)
                .unwrap_or_else(|| panic!("{method} {path} missing"));
            let article = &page.text[at..at + page.text[at..].find("</article>").unwrap()];
            assert!(
                article.contains(&format!(
                    "<span class=\"method {0}\">{0}</span> <code>{path}</code>",
                    method.to_uppercase()
                )),
                "{article}"
            );
            let summary = op["summary"].as_str().unwrap().replace('\'', "&#39;");
            assert!(
                article.contains(&summary.replace('<', "&#60;").replace('>', "&#62;")),
                "{article}"
            );
            if let Some(permission) = op["x-holdfast-permission"].as_str() {
                assert!(
                    article.contains(&format!("permission {permission}")),
                    "{article}"
                );
            }
            if let Some(request) = op.pointer("/requestBody/content/application~1json/schema/$ref")
            {
                let name = request.as_str().unwrap().rsplit('/').next().unwrap();
                assert!(
                    article.contains(&format!("href=\"#schema-{name}\"")),
                    "{article}"
                );
            }
            operations += 1;
        }
    }
    assert!(operations > 90, "{operations}");
    for name in doc["components"]["schemas"].as_object().unwrap().keys() {
        assert!(
            page.text.contains(&format!("id=\"schema-{name}\"")),
            "schema {name}"
        );
    }
    // A known operation reads as a developer needs it.
    let at = page.text.find("id=\"op-get_api_v1_audit\"").unwrap();
    let audit = &page.text[at..at + page.text[at..].find("</article>").unwrap()];
    for needle in [
        "List audit entries, newest first",
        "permission audit.read",
        "<code>actor</code>",
        "<code>cursor</code>",
        "<code>4XX, 5XX</code>",
        "application/problem+json",
    ] {
        assert!(audit.contains(needle), "{needle} in {audit}");
    }
}
