//! `/api/docs`: the OpenAPI document as server-rendered pages under the console's policy — an
//! overview, and a page per tag with every operation of the document (method, path, summary,
//! who may call it, parameters, bodies) and the schemas they use, escaped, without a session,
//! each page under the console's 100 KB budget.

use crate::pages::assert_page;
use holdfast_testkit::{Method, TestApp};
use serde_json::Value;

#[tokio::test(flavor = "multi_thread")]
async fn the_api_docs_page_shows_every_operation_and_schema_of_the_document() {
    let app = TestApp::spawn().await;
    let doc: Value = app.get("/api/v1/openapi.json").expect(200).await.json;
    let overview = app.browser(Method::GET, "/api/docs").expect(200).await;
    let mut pages = std::collections::BTreeMap::new();
    let mut operations = 0;
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, op) in methods.as_object().unwrap() {
            let tag = op["tags"][0].as_str().unwrap();
            // The overview links each operation to its tag's page.
            let id = op["operationId"].as_str().unwrap();
            assert!(
                overview
                    .text
                    .contains(&format!("href=\"/api/docs/{tag}#op-{id}\"")),
                "{method} {path} not in the overview"
            );
            if !pages.contains_key(tag) {
                let page = app
                    .browser(Method::GET, &format!("/api/docs/{tag}"))
                    .expect(200)
                    .await;
                pages.insert(tag.to_owned(), page);
            }
            let page = &pages[tag];
            let anchor = format!("id=\"op-{id}\"");
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
                // The schema it links to is on the same page.
                assert!(
                    page.text.contains(&format!("id=\"schema-{name}\"")),
                    "{name} on /api/docs/{tag}"
                );
            }
            operations += 1;
        }
    }
    assert!(operations > 90, "{operations}");
    let all: Vec<&holdfast_testkit::Resp> =
        std::iter::once(&overview).chain(pages.values()).collect();
    for page in &all {
        assert_page(page);
        // Only the console's own files are scripts; nothing inline.
        assert_eq!(page.text.matches("<script").count(), 2);
        assert!(!page.text.contains(" style="));
        // Each page is light: under the console's 100 KB budget.
        assert!(page.text.len() < 100 * 1024, "{} bytes", page.text.len());
    }
    // Every schema an operation uses is shown on a page; the error schema on the overview.
    assert!(overview.text.contains("id=\"schema-ProblemOut\""));
    let mut used = std::collections::BTreeSet::new();
    for page in &all {
        for part in page.text.split("href=\"#schema-").skip(1) {
            used.insert(part[..part.find('"').unwrap()].to_owned());
        }
    }
    for name in &used {
        assert!(
            all.iter()
                .any(|p| p.text.contains(&format!("id=\"schema-{name}\""))),
            "schema {name}"
        );
    }
    assert!(used.len() > 40, "{}", used.len());
    // A tag the API has not: a page that says so.
    let missing = app
        .browser(Method::GET, "/api/docs/no-such-tag")
        .expect(404)
        .await;
    assert_page(&missing);
    assert!(
        missing.text.contains("/api/docs lists them"),
        "{}",
        missing.text
    );
    // A known operation reads as a developer needs it.
    let page = &pages["audit"];
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
