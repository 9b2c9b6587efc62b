//! A job's photos and files over HTTP, on both databases: upload as multipart/form-data (real
//! PNG, JPEG and PDF bytes), list, download (the bytes, and the headers that keep a file from
//! running in our origin), remove; the technician's scope on every file route; types told by
//! the bytes; the size and count limits; names without paths; another workspace's ids; the
//! module switch; erasure and backups taking the files with them.
#![allow(deprecated)] // age's X25519 keys, as the backups use (see holdfast_app::backup)

use crate::jobs::member;
use crate::{ada, contact};
use holdfast_core::ops::config::Layer;
use holdfast_testkit::receiver::Receiver;
use holdfast_testkit::{Resp, TestApp, Workspace};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

/// A valid 1×1 PNG: signature, IHDR, one zlib-compressed scanline, IEND (CRCs included).
pub const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xcf, 0xc0, 0xf0,
    0x1f, 0x00, 0x05, 0x00, 0x01, 0xff, 0x89, 0x99, 0x3d, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// [`PNG`] with a `tEXt` chunk carrying `tag` before its end: a valid PNG whose bytes (and so
/// digest) are this test's own. On PostgreSQL every test app shares one database, and so the
/// count of rows naming each digest: shared bytes would be kept for another test's rows.
fn tagged_png(tag: &str) -> Vec<u8> {
    let iend = PNG.len() - 12;
    let mut data = b"Comment\0".to_vec();
    data.extend_from_slice(tag.as_bytes());
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    let mut typed = b"tEXt".to_vec();
    typed.extend_from_slice(&data);
    chunk.extend_from_slice(&typed);
    chunk.extend_from_slice(&crc32(&typed).to_be_bytes());
    let mut png = PNG[..iend].to_vec();
    png.extend_from_slice(&chunk);
    png.extend_from_slice(&PNG[iend..]);
    png
}

/// The CRC-32 PNG chunks carry (ISO 3309, reflected, 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for b in bytes {
        crc ^= u32::from(*b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A valid 1×1 grey JPEG (progressive): SOI, JFIF, one quantisation table, the frame, one
/// Huffman table, the scan with its single byte of data, EOI.
fn jpeg() -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8];
    b.extend_from_slice(&[
        0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00, 0x01, 0x01, 0x01, 0x00, 0x48, 0x00,
        0x48, 0x00, 0x00,
    ]);
    b.extend_from_slice(&[0xFF, 0xDB, 0x00, 0x43, 0x00]);
    b.extend_from_slice(&[0xFF; 64]);
    b.extend_from_slice(&[
        0xFF, 0xC2, 0x00, 0x0B, 0x08, 0x00, 0x01, 0x00, 0x01, 0x01, 0x01, 0x11, 0x00,
    ]);
    b.extend_from_slice(&[0xFF, 0xC4, 0x00, 0x14, 0x10, 0x01]);
    b.extend_from_slice(&[0x00; 16]);
    b.extend_from_slice(&[
        0xFF, 0xDA, 0x00, 0x08, 0x01, 0x01, 0x00, 0x00, 0x01, 0x3F, 0x10,
    ]);
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

const PDF: &[u8] = b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n\
2 0 obj << /Type /Pages /Kids [] /Count 0 >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

/// A `multipart/form-data` body with one part per (name, file name, content type, bytes).
fn form(parts: &[(&str, &str, &str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----hfjobfileboundaryQ4pX0w8z";
    let mut body = Vec::new();
    for (name, filename, content_type, data) in parts {
        body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        body.extend_from_slice(
            format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(data);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The upload form with one real PNG, for the sweeps that call every route.
pub fn png_form() -> (String, Vec<u8>) {
    form(&[("file", "sweep.png", "image/png", PNG)])
}

/// Uploads one file as `credential`, expecting `status`.
async fn upload(
    app: &TestApp,
    credential: &str,
    job: &str,
    filename: &str,
    content_type: &str,
    bytes: &[u8],
    status: u16,
) -> Resp {
    let (form_type, body) = form(&[("file", filename, content_type, bytes)]);
    app.post(&format!("/api/v1/jobs/{job}/files"))
        .key(credential)
        .body(&form_type, body)
        .expect(status)
        .await
}

/// A download's status, headers and exact bytes.
async fn download(
    app: &TestApp,
    credential: &str,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let r = app
        .http
        .get(format!("{}{path}", app.base))
        .bearer_auth(credential)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

/// POSTs `body` over a plain connection, reading the answer while still sending (a server
/// refusing a large body answers before it is all sent, which an ordinary client reports as a
/// broken pipe): with `Content-Length`, or `Transfer-Encoding: chunked` (no declared length,
/// as a client streaming a file does). The status and the answer's text.
async fn post_raw(
    app: &TestApp,
    credential: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
    chunked: bool,
) -> (u16, String) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = app.base.trim_start_matches("http://").to_owned();
    let stream = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let (mut read, mut write) = stream.into_split();
    let framing = if chunked {
        "Transfer-Encoding: chunked".to_owned()
    } else {
        format!("Content-Length: {}", body.len())
    };
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {credential}\r\n\
         Content-Type: {content_type}\r\n{framing}\r\nConnection: close\r\n\r\n"
    );
    // Read while writing: the server answers (and closes) before the whole body is sent.
    let sending = async move {
        write.write_all(head.as_bytes()).await?;
        if !chunked {
            return write.write_all(body).await;
        }
        for chunk in body.chunks(256 * 1024) {
            write
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .await?;
            write.write_all(chunk).await?;
            write.write_all(b"\r\n").await?;
        }
        write.write_all(b"0\r\n\r\n").await
    };
    let receiving = async move {
        let mut answer = Vec::new();
        let _ = read.read_to_end(&mut answer).await;
        answer
    };
    let (_, answer) = tokio::join!(sending, receiving);
    let text = String::from_utf8_lossy(&answer).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    (status, text)
}

async fn book(app: &TestApp, ws: &Workspace, contact_id: &str, technicians: &[&str]) -> String {
    app.post("/api/v1/jobs")
        .key(&ws.admin_key)
        .json(&json!({"contact_id": contact_id, "title": "Boiler service", "technician_ids": technicians}))
        .expect(201)
        .await
        .json["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn id(v: &Value) -> String {
    v["id"].as_str().unwrap().to_owned()
}

/// Every content-addressed file under the app's data dir.
fn stored_files(data_dir: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    if let Ok(shards) = std::fs::read_dir(data_dir.join("attachments")) {
        for shard in shards.flatten() {
            for file in std::fs::read_dir(shard.path()).unwrap().flatten() {
                found.push(file.path());
            }
        }
    }
    found.sort();
    found
}

async fn audit_actions(app: &TestApp, ws: &Workspace) -> Vec<String> {
    app.get("/api/v1/audit?limit=100")
        .key(&ws.admin_key)
        .expect(200)
        .await
        .json["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["action"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn photos_and_files_are_added_listed_downloaded_and_removed() {
    let app = TestApp::spawn_with(Layer {
        outbound_allow: Some(vec!["127.0.0.1".into()]),
        ..Default::default()
    })
    .await;
    let ws = app.workspace("job-files").await;
    let key = ws.admin_key.clone();
    let receiver = Receiver::start().await;
    crate::webhook_endpoint(
        &app,
        &ws,
        json!({"url": receiver.base, "event_types": ["job.updated"]}),
    )
    .await;
    let customer = contact(&app, &ws, ada()).await;
    let job = book(&app, &ws, &customer, &[]).await;
    let png_bytes = tagged_png(&job);

    let png = upload(&app, &key, &job, "boiler.png", "image/png", &png_bytes, 201)
        .await
        .json;
    assert_eq!(png["filename"], "boiler.png");
    assert_eq!(png["content_type"], "image/png");
    assert_eq!(png["kind"], "photo");
    assert_eq!(png["size"], png_bytes.len());
    assert!(png["id"].as_str().unwrap().starts_with("jf_"), "{png}");
    assert!(
        png["uploaded_by"].as_str().unwrap().starts_with("api_key:"),
        "{png}"
    );
    // A phone that says nothing useful about the type: the bytes decide.
    let jpeg_bytes = jpeg();
    let jpg = upload(
        &app,
        &key,
        &job,
        "IMG_0001.JPG",
        "application/octet-stream",
        &jpeg_bytes,
        201,
    )
    .await
    .json;
    assert_eq!(jpg["content_type"], "image/jpeg");
    assert_eq!(jpg["kind"], "photo");
    let pdf = upload(&app, &key, &job, "report.pdf", "application/pdf", PDF, 201)
        .await
        .json;
    assert_eq!(pdf["content_type"], "application/pdf");
    assert_eq!(pdf["kind"], "file");

    let files = format!("/api/v1/jobs/{job}/files");
    let list = app.get(&files).key(&key).expect(200).await.json;
    let ids: Vec<String> = list["data"].as_array().unwrap().iter().map(id).collect();
    assert_eq!(ids, [id(&png), id(&jpg), id(&pdf)]);
    assert_eq!(list["data"][0], png);
    // The job's answer carries the same list.
    let answer = app
        .get(&format!("/api/v1/jobs/{job}"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(answer["files"], list["data"]);

    // An image is shown in place; a PDF downloads; neither is ever sniffed or scripted.
    let (status, headers, bytes) = download(&app, &key, &format!("{files}/{}", id(&png))).await;
    assert_eq!(status, 200);
    assert_eq!(bytes, png_bytes);
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(
        headers["content-disposition"],
        "inline; filename=\"boiler.png\"; filename*=UTF-8''boiler.png"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "sandbox; default-src 'none'"
    );
    let (status, headers, bytes) = download(&app, &key, &format!("{files}/{}", id(&jpg))).await;
    assert_eq!((status, bytes), (200, jpeg_bytes.clone()));
    assert_eq!(headers["content-type"], "image/jpeg");
    let (status, headers, bytes) = download(&app, &key, &format!("{files}/{}", id(&pdf))).await;
    assert_eq!((status, bytes.as_slice()), (200, PDF));
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .starts_with("attachment; "),
        "{headers:?}"
    );
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(
        headers["content-security-policy"],
        "sandbox; default-src 'none'"
    );
    // A viewer (jobs.read, no jobs.write) reads them but changes nothing.
    let viewer = app
        .key(&ws.slug, holdfast_core::access::policy::BuiltinRole::Viewer)
        .await;
    app.get(&files).key(&viewer).expect(200).await;
    upload(&app, &viewer, &job, "x.png", "image/png", PNG, 403)
        .await
        .problem("HF-AUTH-003");
    app.delete(&format!("{files}/{}", id(&png)))
        .key(&viewer)
        .expect(403)
        .await;

    // The bytes are kept once each, content-addressed; removing a file deletes its bytes (no
    // other row names them).
    assert_eq!(stored_files(&app.config.data_dir).len(), 3);
    app.delete(&format!("{files}/{}", id(&png)))
        .key(&key)
        .expect(204)
        .await;
    let list = app.get(&files).key(&key).expect(200).await.json;
    assert_eq!(list["data"].as_array().unwrap().len(), 2);
    let (status, _, _) = download(&app, &key, &format!("{files}/{}", id(&png))).await;
    assert_eq!(status, 404);
    app.delete(&format!("{files}/{}", id(&png)))
        .key(&key)
        .expect(404)
        .await
        .problem("HF-REQ-005");
    assert_eq!(stored_files(&app.config.data_dir).len(), 2);

    // Audited, and published as the job after each change.
    let actions = audit_actions(&app, &ws).await;
    assert_eq!(
        actions.iter().filter(|a| *a == "job.file_added").count(),
        3,
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| *a == "job.file_removed").count(),
        1,
        "{actions:?}"
    );
    let delivered = receiver
        .wait_for(4, std::time::Duration::from_secs(20))
        .await;
    let last = delivered
        .iter()
        .map(|d| d.json())
        .filter(|e| e["type"] == "job.updated")
        .max_by_key(|e| e["data"]["files"].as_array().map(Vec::len).unwrap_or(0))
        .unwrap();
    assert_eq!(last["data"]["id"], job.as_str());
    assert_eq!(last["data"]["files"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_technician_adds_photos_to_their_own_jobs_and_finds_no_other_jobs_files() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-scope").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let (tess, tess_token) = member(&app, &ws, "tess", "technician").await;
    let (tom, _) = member(&app, &ws, "tom", "technician").await;
    let own = book(&app, &ws, &customer, &[&tess]).await;
    let toms = book(&app, &ws, &customer, &[&tom]).await;

    // On site, from her phone: her own job takes the photo.
    let photo = upload(
        &app,
        &tess_token,
        &own,
        "leak.jpg",
        "image/jpeg",
        &jpeg(),
        201,
    )
    .await
    .json;
    assert_eq!(photo["uploaded_by"], format!("user:{tess}"));
    let list = app
        .get(&format!("/api/v1/jobs/{own}/files"))
        .key(&tess_token)
        .expect(200)
        .await
        .json;
    assert_eq!(list["data"].as_array().unwrap().len(), 1);

    // Tom's job does not exist for her, on every file route, files and all.
    let toms_file = upload(&app, &key, &toms, "meter.png", "image/png", PNG, 201)
        .await
        .json;
    let refused = upload(&app, &tess_token, &toms, "mine.png", "image/png", PNG, 404).await;
    refused.problem("HF-REQ-005");
    // Not even a body she could not send gets past the job's absence.
    app.post(&format!("/api/v1/jobs/{toms}/files"))
        .key(&tess_token)
        .json(&json!({"file": "nope"}))
        .expect(404)
        .await;
    app.get(&format!("/api/v1/jobs/{toms}/files"))
        .key(&tess_token)
        .expect(404)
        .await
        .problem("HF-REQ-005");
    let path = format!("/api/v1/jobs/{toms}/files/{}", id(&toms_file));
    let (status, _, bytes) = download(&app, &tess_token, &path).await;
    assert_eq!(status, 404);
    assert_ne!(bytes, PNG);
    app.delete(&path).key(&tess_token).expect(404).await;
    // Nor does his file under her own job's id.
    let crossed = format!("/api/v1/jobs/{own}/files/{}", id(&toms_file));
    let (status, _, _) = download(&app, &tess_token, &crossed).await;
    assert_eq!(status, 404);
    app.delete(&crossed).key(&tess_token).expect(404).await;
    // Nothing of Tom's changed; the answer about his job never named the file to her.
    let (status, _, bytes) = download(&app, &key, &path).await;
    assert_eq!((status, bytes.as_slice()), (200, PNG));
    assert_eq!(
        app.get(&format!("/api/v1/jobs/{toms}/files"))
            .key(&key)
            .expect(200)
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn files_that_are_not_allowed_are_refused_and_nothing_is_kept() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-bad").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let job = book(&app, &ws, &customer, &[]).await;

    // A text file renamed .png, declared as a PNG: its bytes say otherwise.
    let r = upload(
        &app,
        &key,
        &job,
        "photo.png",
        "image/png",
        b"just some text, honest",
        415,
    )
    .await;
    let detail = r.problem("HF-REQ-002")["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        detail.contains("sent as image/png") && detail.contains("JPEG, PNG"),
        "{detail}"
    );
    // A page or a vector image that could carry script.
    for (name, bytes) in [
        ("x.html", &b"<html><script>alert(1)</script></html>"[..]),
        (
            "x.svg",
            b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>",
        ),
        ("x.gif", b"GIF89a\x01\x00\x01\x00"),
    ] {
        upload(&app, &key, &job, name, "image/png", bytes, 415)
            .await
            .problem("HF-REQ-002");
    }
    // Empty.
    let r = upload(&app, &key, &job, "empty.png", "image/png", b"", 422).await;
    assert!(
        r.problem("HF-REQ-004")["detail"]
            .as_str()
            .unwrap()
            .contains("empty")
    );
    // Not a form; a form without the part; a form with two files.
    app.post(&format!("/api/v1/jobs/{job}/files"))
        .key(&key)
        .body("image/png", PNG.to_vec())
        .expect(415)
        .await
        .problem("HF-REQ-002");
    let (t, body) = form(&[("photo", "a.png", "image/png", PNG)]);
    let r = app
        .post(&format!("/api/v1/jobs/{job}/files"))
        .key(&key)
        .body(&t, body)
        .expect(422)
        .await;
    assert!(
        r.problem("HF-REQ-004")["detail"]
            .as_str()
            .unwrap()
            .contains("'photo'"),
        "{}",
        r.text
    );
    let (t, body) = form(&[
        ("file", "a.png", "image/png", PNG),
        ("file", "b.png", "image/png", PNG),
    ]);
    app.post(&format!("/api/v1/jobs/{job}/files"))
        .key(&key)
        .body(&t, body)
        .expect(422)
        .await
        .problem("HF-REQ-004");
    // A body that is not a well-formed form.
    app.post(&format!("/api/v1/jobs/{job}/files"))
        .key(&key)
        .body(
            "multipart/form-data; boundary=xyz",
            b"--xyz\r\nnonsense".to_vec(),
        )
        .expect(400)
        .await
        .problem("HF-REQ-001");

    // 11 MB: refused at the edge by its declared length…
    let mut big = PNG.to_vec();
    big.resize(11 * 1024 * 1024, 0);
    let (t, body) = form(&[("file", "huge.png", "image/png", &big)]);
    let files = format!("/api/v1/jobs/{job}/files");
    let (status, answer) = post_raw(&app, &key, &files, &t, &body, false).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("HF-REQ-003"),
        "{answer}"
    );
    // …and without one (chunked), while it is read.
    let (status, answer) = post_raw(&app, &key, &files, &t, &body, true).await;
    assert_eq!(status, 413, "{answer}");
    assert!(
        answer.contains("application/problem+json") && answer.contains("HF-REQ-003"),
        "{answer}"
    );
    // Just over the file's limit inside a body the edge lets through: the handler's cap.
    let mut over = PNG.to_vec();
    over.resize(10 * 1024 * 1024 + 1, 0);
    upload(&app, &key, &job, "over.png", "image/png", &over, 413)
        .await
        .problem("HF-REQ-003");
    // Exactly at the limit is fine.
    let mut at = PNG.to_vec();
    at.resize(10 * 1024 * 1024, 0);
    upload(&app, &key, &job, "at.png", "image/png", &at, 201).await;

    // The large body is allowed on the upload route only.
    let (t, body) = form(&[("file", "huge.png", "image/png", &over)]);
    let notes = format!("/api/v1/jobs/{job}/notes");
    let (status, answer) = post_raw(&app, &key, &notes, &t, &body, false).await;
    assert_eq!(status, 413, "{answer}");
    assert!(answer.contains("HF-REQ-003"), "{answer}");

    // Only the one accepted file is listed and on disk.
    let list = app
        .get(&format!("/api/v1/jobs/{job}/files"))
        .key(&key)
        .expect(200)
        .await
        .json;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    assert_eq!(stored_files(&app.config.data_dir).len(), 1);
    let actions = audit_actions(&app, &ws).await;
    assert_eq!(actions.iter().filter(|a| *a == "job.file_added").count(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_holds_at_most_fifty_files_and_shared_bytes_are_kept_once() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-many").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let job = book(&app, &ws, &customer, &[]).await;
    let mut first = String::new();
    for n in 0..50 {
        let f = upload(
            &app,
            &key,
            &job,
            &format!("p{n}.png"),
            "image/png",
            PNG,
            201,
        )
        .await
        .json;
        if n == 0 {
            first = id(&f);
        }
    }
    // The 51st (other bytes) is refused before anything is written: no file is left on disk
    // that no row names.
    let r = upload(&app, &key, &job, "p50.jpg", "image/jpeg", &jpeg(), 409).await;
    assert_eq!(stored_files(&app.config.data_dir).len(), 1);
    assert!(
        r.problem("HF-REQ-007")["detail"]
            .as_str()
            .unwrap()
            .contains("at most 50"),
        "{}",
        r.text
    );
    assert_eq!(
        app.get(&format!("/api/v1/jobs/{job}/files"))
            .key(&key)
            .expect(200)
            .await
            .json["data"]
            .as_array()
            .unwrap()
            .len(),
        50
    );
    // Fifty rows, one file: removing a row keeps the bytes the others name.
    assert_eq!(stored_files(&app.config.data_dir).len(), 1);
    app.delete(&format!("/api/v1/jobs/{job}/files/{first}"))
        .key(&key)
        .expect(204)
        .await;
    assert_eq!(stored_files(&app.config.data_dir).len(), 1);
    upload(&app, &key, &job, "p50.png", "image/png", PNG, 201).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_name_loses_its_path_and_anything_that_could_break_a_header() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-names").await;
    let key = ws.admin_key.clone();
    let customer = contact(&app, &ws, ada()).await;
    let job = book(&app, &ws, &customer, &[]).await;
    let f = upload(&app, &key, &job, "../../etc/passwd", "image/png", PNG, 201)
        .await
        .json;
    // …and ends as its bytes are.
    assert_eq!(f["filename"], "passwd.png");
    assert!(!app.config.data_dir.join("etc").exists());
    let f = upload(
        &app,
        &key,
        &job,
        "C:\\Users\\tess\\boiler room.png",
        "image/png",
        PNG,
        201,
    )
    .await
    .json;
    assert_eq!(f["filename"], "boiler room.png");
    let long = format!("{}.png", "a".repeat(400));
    let f = upload(&app, &key, &job, &long, "image/png", PNG, 201)
        .await
        .json;
    assert_eq!(f["filename"].as_str().unwrap().chars().count(), 200);
    assert!(f["filename"].as_str().unwrap().ends_with(".png"));
    let f = upload(&app, &key, &job, "..", "image/png", PNG, 201)
        .await
        .json;
    assert_eq!(f["filename"], "file.png");
    // A semicolon and a non-ASCII letter stay in the name but never reach the header raw.
    let f = upload(&app, &key, &job, "a;b é.png", "image/png", PNG, 201)
        .await
        .json;
    assert_eq!(f["filename"], "a;b é.png");
    let (_, headers, _) =
        download(&app, &key, &format!("/api/v1/jobs/{job}/files/{}", id(&f))).await;
    assert_eq!(
        headers["content-disposition"],
        "inline; filename=\"a_b__.png\"; filename*=UTF-8''a%3Bb%20%C3%A9.png"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn another_workspaces_job_and_file_ids_are_404() {
    let app = TestApp::spawn().await;
    let a = app.workspace("job-files-a").await;
    let b = app.workspace("job-files-b").await;
    let a_job = book(&app, &a, &contact(&app, &a, ada()).await, &[]).await;
    let b_job = book(&app, &b, &contact(&app, &b, ada()).await, &[]).await;
    let a_file = id(
        &upload(&app, &a.admin_key, &a_job, "a.png", "image/png", PNG, 201)
            .await
            .json,
    );
    let bk = &b.admin_key;
    upload(&app, bk, &a_job, "b.png", "image/png", PNG, 404)
        .await
        .problem("HF-REQ-005");
    app.get(&format!("/api/v1/jobs/{a_job}/files"))
        .key(bk)
        .expect(404)
        .await;
    for path in [
        format!("/api/v1/jobs/{a_job}/files/{a_file}"),
        format!("/api/v1/jobs/{b_job}/files/{a_file}"),
    ] {
        let (status, _, bytes) = download(&app, bk, &path).await;
        assert_eq!(status, 404, "{path}");
        assert_ne!(bytes, PNG);
        app.delete(&path)
            .key(bk)
            .expect(404)
            .await
            .problem("HF-REQ-005");
    }
    // Malformed ids are 404 too.
    app.get(&format!("/api/v1/jobs/{b_job}/files/not-an-id"))
        .key(bk)
        .expect(404)
        .await;
    app.get("/api/v1/jobs/job_nope/files")
        .key(bk)
        .expect(404)
        .await;
    let (status, _, bytes) = download(
        &app,
        &a.admin_key,
        &format!("/api/v1/jobs/{a_job}/files/{a_file}"),
    )
    .await;
    assert_eq!((status, bytes.as_slice()), (200, PNG));
}

#[tokio::test(flavor = "multi_thread")]
async fn file_routes_are_refused_while_field_service_is_off() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-off").await;
    let key = ws.admin_key.clone();
    let job = book(&app, &ws, &contact(&app, &ws, ada()).await, &[]).await;
    let file = id(&upload(&app, &key, &job, "a.png", "image/png", PNG, 201)
        .await
        .json);
    app.patch("/api/v1/modules")
        .key(&key)
        .json(&json!({"enabled": ["crm", "helpdesk", "automation", "invoicing"]}))
        .expect(200)
        .await;
    let r = upload(&app, &key, &job, "b.png", "image/png", PNG, 404).await;
    assert!(
        r.problem("HF-REQ-005")["detail"]
            .as_str()
            .unwrap()
            .contains("module is off")
    );
    app.get(&format!("/api/v1/jobs/{job}/files"))
        .key(&key)
        .expect(404)
        .await;
    let (status, _, _) = download(&app, &key, &format!("/api/v1/jobs/{job}/files/{file}")).await;
    assert_eq!(status, 404);
    app.delete(&format!("/api/v1/jobs/{job}/files/{file}"))
        .key(&key)
        .expect(404)
        .await;
    app.patch("/api/v1/modules")
        .key(&key)
        .json(&json!({"enabled": ["crm", "helpdesk", "automation", "invoicing", "field_service"]}))
        .expect(200)
        .await;
    let (status, _, _) = download(&app, &key, &format!("/api/v1/jobs/{job}/files/{file}")).await;
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn erasing_a_contact_removes_its_jobs_files_but_not_bytes_others_still_use() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-erase").await;
    let key = ws.admin_key.clone();
    let ada_id = contact(&app, &ws, ada()).await;
    let grace = contact(
        &app,
        &ws,
        json!({"name": "Grace", "email": "grace@example.com"}),
    )
    .await;
    let adas = book(&app, &ws, &ada_id, &[]).await;
    let graces = book(&app, &ws, &grace, &[]).await;
    upload(
        &app,
        &key,
        &adas,
        "ada-door.png",
        "image/png",
        &tagged_png(&adas),
        201,
    )
    .await;
    // The same photo on both jobs: one file on disk, two rows.
    let shared = jpeg();
    upload(&app, &key, &adas, "street.jpg", "image/jpeg", &shared, 201).await;
    let kept = id(&upload(
        &app,
        &key,
        &graces,
        "street.jpg",
        "image/jpeg",
        &shared,
        201,
    )
    .await
    .json);
    assert_eq!(stored_files(&app.config.data_dir).len(), 2);

    app.delete(&format!("/api/v1/contacts/{ada_id}"))
        .key(&key)
        .expect(204)
        .await;
    app.get(&format!("/api/v1/jobs/{adas}/files"))
        .key(&key)
        .expect(404)
        .await;
    // Ada's own photo is gone from the disk; the shared one stays for Grace's job.
    let left = stored_files(&app.config.data_dir);
    assert_eq!(left.len(), 1, "{left:?}");
    assert_eq!(std::fs::read(&left[0]).unwrap(), shared);
    let (status, _, bytes) =
        download(&app, &key, &format!("/api/v1/jobs/{graces}/files/{kept}")).await;
    assert_eq!((status, bytes), (200, shared));
    // No row of the erased job's files is left.
    let mut tx = app.workspace_tx(&ws).await;
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM job_files WHERE job_id = $1")
        .bind(&adas)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_backup_holds_the_job_files_rows_and_bytes() {
    let app = TestApp::spawn().await;
    let ws = app.workspace("job-files-backup").await;
    let job = book(&app, &ws, &contact(&app, &ws, ada()).await, &[]).await;
    let png = tagged_png(&job);
    upload(&app, &ws.admin_key, &job, "a.png", "image/png", &png, 201).await;
    let stored = stored_files(&app.config.data_dir);
    let sha = stored[0].file_name().unwrap().to_str().unwrap().to_owned();
    let dir = tempfile::tempdir().unwrap();
    let identity = age::x25519::Identity::generate();
    let created = holdfast_app::backup::create(
        &app.db,
        &app.config.data_dir,
        dir.path(),
        &[identity.to_public()],
        1_800_000_000_000,
    )
    .await
    .unwrap();
    let manifest = created.manifest;
    assert!(
        manifest
            .parts
            .iter()
            .any(|p| p.path == format!("attachments/{}/{sha}", &sha[..2])
                && p.bytes == png.len() as u64),
        "{:?}",
        manifest.parts
    );
    // (On PostgreSQL the test apps share one database, so other tests' rows count too.)
    assert!(
        manifest.counts().get("job_files").is_some_and(|n| *n >= 1),
        "{:?}",
        manifest.counts()
    );
}
