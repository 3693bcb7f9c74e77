//! The directory import page: an Open Referral UK file uploaded (`multipart/form-data`,
//! the CSRF token first) or JSON pasted is imported by `importDirectory`'s own function;
//! a missing, oversized or non-JSON file is named in the error summary, and nothing is
//! imported while anything is wrong.

use super::*;

/// One part of a multipart body: name, file name (a file), content.
type Part<'a> = (&'a str, Option<&'a str>, &'a [u8]);
/// A multipart body's parts.
type Parts<'a> = [Part<'a>];

const BOUNDARY: &str = "linkway-test-boundary-7e1f";

fn multipart(parts: &Parts) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, file, content) in parts {
        body.extend_from_slice(format!("--{BOUNDARY}\r\n").as_bytes());
        let disposition = match file {
            Some(file) => format!(
                "Content-Disposition: form-data; name=\"{name}\"; filename=\"{file}\"\r\nContent-Type: application/json\r\n\r\n"
            ),
            None => format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n"),
        };
        body.extend_from_slice(disposition.as_bytes());
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/openreferral/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(path).expect("fixture")
}

impl Pages {
    /// Posts the import form as a browser does with a file input.
    async fn upload(&self, who: &Person_, parts: &Parts<'_>) -> (StatusCode, String) {
        let r = self
            .http
            .post(format!("{}/directory/upload", self.base))
            .header("cookie", &who.cookie)
            .header(
                "content-type",
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(multipart(parts))
            .send()
            .await
            .unwrap();
        (r.status(), r.text().await.unwrap())
    }

    /// How many services the directory holds.
    pub(super) async fn directory_size(&self) -> i64 {
        let db = self.env.database("link-worker").await;
        let client = db.client().await.unwrap();
        client
            .query_one("SELECT count(*) FROM directory_services", &[])
            .await
            .unwrap()
            .get(0)
    }
}

/// The error summary's first message.
fn summary(body: &str) -> &str {
    let list = body
        .split_once("nhsuk-error-summary__list")
        .unwrap_or_else(|| panic!("no error summary: {body}"))
        .1;
    let link = list.split_once("<a href=\"#").unwrap().1;
    let (field, rest) = link.split_once('"').unwrap();
    let message = rest
        .split_once('>')
        .unwrap()
        .1
        .split_once("</a>")
        .unwrap()
        .0;
    assert!(
        field == "directory_file" || field == "directory_json",
        "{field}"
    );
    message
}

#[tokio::test]
async fn an_open_referral_file_uploaded_on_the_page_is_imported() {
    let p = Pages::start().await;
    let manager = p.sign_in(NORTH, Role::ServiceManager, "Mo Manager").await;
    let (status, body, _) = p.get(&manager, "/directory/upload").await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        body.contains(r#"enctype="multipart/form-data""#)
            && body.contains(r#"type="file""#)
            && body.contains(r#"name="directory_json""#),
        "{body}"
    );
    let file = fixture("service_full.json");
    let parts = [
        ("csrf", None, manager.csrf.as_bytes()),
        ("directory_file", Some("service_full.json"), file.as_slice()),
        ("directory_json", None, b"".as_slice()),
    ];
    let (status, body) = p.upload(&manager, &parts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("1 service imported"), "{body}");
    assert_eq!(p.directory_size().await, 1);
    // A page of services, and an organisation with its services.
    for name in ["service_list.json", "organization_full.json"] {
        let file = fixture(name);
        let parts = [
            ("csrf", None, manager.csrf.as_bytes()),
            ("directory_file", Some(name), file.as_slice()),
        ];
        let (status, body) = p.upload(&manager, &parts).await;
        assert_eq!(status, StatusCode::OK, "{name}: {body}");
        assert!(body.contains(" imported"), "{name}");
    }
    // With no file chosen (an empty part, as a browser sends it), the pasted JSON.
    let pasted = String::from_utf8(fixture("service_full.json")).unwrap();
    let parts = [
        ("csrf", None, manager.csrf.as_bytes()),
        ("directory_file", Some(""), b"".as_slice()),
        ("directory_json", None, pasted.as_bytes()),
    ];
    let (status, body) = p.upload(&manager, &parts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("1 service imported"), "{body}");
    // And the paste-only form a page without a file input sends.
    let form = [("csrf", manager.csrf.as_str()), ("directory_json", &pasted)];
    let (status, body, _) = p.post(&manager, "/directory/upload", &form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("1 service imported"), "{body}");
}

#[tokio::test]
async fn a_missing_oversized_or_unreadable_file_is_named_and_nothing_is_imported() {
    let p = Pages::start().await;
    let manager = p.sign_in(NORTH, Role::ServiceManager, "Mo Manager").await;
    let csrf = manager.csrf.as_bytes();
    let big = vec![b' '; linkway_platform::web::form::UPLOAD_LIMIT + 1];
    let good = fixture("service_full.json");
    let one_bad = String::from_utf8(fixture("service_list.json"))
        .unwrap()
        .replacen("\"name\": \"Community Counselling\"", "\"name\": \"\"", 1);
    let cases: [(&Parts, &str); 6] = [
        (
            &[("csrf", None, csrf), ("directory_file", Some(""), b"")],
            "Select an Open Referral UK JSON file, or paste its JSON",
        ),
        (
            &[
                ("csrf", None, csrf),
                ("directory_file", Some("big.json"), &big),
            ],
            "The selected file must be smaller than 1 MB",
        ),
        (
            &[
                ("csrf", None, csrf),
                ("directory_file", Some("e.json"), b""),
            ],
            "The selected file is empty",
        ),
        (
            &[
                ("csrf", None, csrf),
                (
                    "directory_file",
                    Some("notes.txt"),
                    b"Community Counselling, Leeds",
                ),
            ],
            "The selected file must be JSON: it is not (line 1, column 1)",
        ),
        (
            &[
                ("csrf", None, csrf),
                ("directory_file", Some("list.json"), one_bad.as_bytes()),
            ],
            "Name must be a non-empty string (at contents.0.name)",
        ),
        (
            &[
                ("csrf", None, csrf),
                ("directory_file", Some("list.json"), b"{\"contents\": 3}"),
            ],
            "Must be an array of services (at contents)",
        ),
    ];
    for (parts, says) in cases {
        let (status, body) = p.upload(&manager, parts).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{says}: {body}");
        assert!(summary(&body).contains(says), "{says}: {}", summary(&body));
        assert!(body.contains("nhsuk-form-group--error"), "{says}");
        assert!(
            !body.contains("Community Counselling, Leeds"),
            "never echoed"
        );
    }
    let form = [
        ("csrf", manager.csrf.as_str()),
        ("directory_json", "{\"id\": "),
    ];
    let (status, body, _) = p.post(&manager, "/directory/upload", &form).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        summary(&body),
        "The pasted text must be JSON: it is not (line 1, column 6)"
    );
    assert_eq!(p.directory_size().await, 0, "nothing imported");
    // A good file with a pasted box beside it: the file is what is imported.
    let parts = [
        ("csrf", None, csrf),
        ("directory_file", Some("s.json"), good.as_slice()),
        ("directory_json", None, b"not json".as_slice()),
    ];
    let (status, body) = p.upload(&manager, &parts).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(p.directory_size().await, 1);
}

#[tokio::test]
async fn an_upload_without_its_csrf_token_first_imports_nothing() {
    let p = Pages::start().await;
    let manager = p.sign_in(NORTH, Role::ServiceManager, "Mo Manager").await;
    let other = p
        .sign_in(NORTH, Role::ServiceManager, "Other Manager")
        .await;
    let worker = p.sign_in(NORTH, Role::LinkWorker, "Lee Worker").await;
    let file = fixture("service_full.json");
    let file_part = ("directory_file", Some("s.json"), file.as_slice());
    let refused: [(&Person_, Vec<Part>); 5] = [
        (&manager, vec![file_part]),
        (&manager, vec![("csrf", None, b"forged"), file_part]),
        (
            &manager,
            vec![("csrf", None, other.csrf.as_bytes()), file_part],
        ),
        // The token after the file: nothing before it is read.
        (
            &manager,
            vec![file_part, ("csrf", None, manager.csrf.as_bytes())],
        ),
        // The token right, the role not.
        (
            &worker,
            vec![("csrf", None, worker.csrf.as_bytes()), file_part],
        ),
    ];
    for (who, parts) in refused {
        let (status, body) = p.upload(who, &parts).await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    }
    assert_eq!(p.directory_size().await, 0, "nothing imported");
}
