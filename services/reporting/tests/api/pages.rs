//! The commissioner's dashboard (`/`) and its CSV (`/dashboard.csv`) over the real
//! service: only the area's disclosure-controlled figures, exactly as `getSummary` gives
//! them; a suppressed figure is `*` in tables and a gap in charts; nothing personal in
//! the HTML or the CSV; other roles get the 403 page.

use linkway_events::Role;
use reqwest::StatusCode;
use time::macros::date;

use crate::support::{NewReferral, World};

/// Area A: 23 referrals in January (gp-a and council-a, social isolation), 3 in
/// February (stress: suppressed). Area B: 12 referrals with a need A has none of.
async fn population(w: &World) -> u64 {
    for i in 0..23 {
        w.receive(&NewReferral {
            referrer: if i % 3 == 0 { "council-a" } else { "gp-a" },
            needs: vec!["422650009"],
            on: date!(2026 - 01 - 05),
        })
        .await;
    }
    for _ in 0..3 {
        w.receive(&NewReferral {
            referrer: "gp-a",
            needs: vec!["73595000"],
            on: date!(2026 - 02 - 10),
        })
        .await;
    }
    for _ in 0..12 {
        w.receive(&NewReferral {
            referrer: "gp-b",
            needs: vec!["160932005"],
            on: date!(2026 - 01 - 06),
        })
        .await;
    }
    w.last_sequence().await
}

/// The CSV's lines of `table` as (key, column, value).
fn csv_table(csv: &str, table: &str) -> Vec<(String, String, String)> {
    csv.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0] == table).then(|| (f[1].to_owned(), f[3].to_owned(), f[4].to_owned()))
        })
        .collect()
}

fn cell(figure: &serde_json::Value) -> String {
    match figure {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[tokio::test]
async fn the_dashboard_and_its_csv_show_exactly_the_summarys_figures() {
    let w = World::new().await;
    let seq = population(&w).await;
    let cookie = w.sign_in("icb-a", &[Role::Commissioner]).await;
    let summary = w
        .json(&format!("/summary?min_sequence={seq}"), &w.commissioner_a)
        .await;
    let referrals = &summary["measures"]["referrals"];
    assert_eq!(referrals["by_month"]["2026-02"], "*", "{summary}");

    let (status, headers, html) = w
        .page(&format!("/?min_sequence={seq}"), Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert_eq!(headers["cache-control"], "private, no-store");
    assert!(html.contains("<title>Social prescribing in your area - Reports - Linkway</title>"));
    assert_eq!(html.matches("<h1").count(), 1);
    assert!(
        html.contains("commissioner area <strong>QWO</strong>"),
        "{html}"
    );
    // Needs by name, their code beside them; another area's need is not there.
    assert!(html.contains("Social isolation") && html.contains("422650009"));
    assert!(html.contains("Stress") && html.contains("73595000"));
    assert!(!html.contains("160932005") && !html.contains("Financial problem"));
    // Each chart is an image named and described, beside its table.
    let charts = html.matches("class=\"linkway-chart\" role=\"img\"").count();
    assert!(charts >= 7, "{charts} charts");
    assert_eq!(html.matches("<svg").count(), charts + 1, "and the NHS logo");
    assert!(html.matches("<caption").count() >= charts);
    // February's suppressed figure: `*` in the table, a gap marked suppressed in the chart.
    assert!(html.contains("February 2026: suppressed"), "{html}");
    assert!(html.contains("* suppressed"));
    assert!(html.contains("(suppressed)"));
    assert!(!html.contains("<script>"), "no inline script");
    assert!(html.contains("href=\"/dashboard.csv\""));

    let (status, headers, csv) = w
        .page(&format!("/dashboard.csv?min_sequence={seq}"), Some(&cookie))
        .await;
    assert_eq!(status, StatusCode::OK, "{csv}");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert_eq!(
        headers["content-disposition"],
        "attachment; filename=\"linkway-QWO.csv\""
    );
    // Every figure by month, source and need is the summary's own.
    for (table, breakdown) in [
        ("referrals-by-month", "by_month"),
        ("referrals-by-source", "by_referrer_kind"),
        ("needs", "by_need"),
    ] {
        let lines = csv_table(&csv, table);
        let expected = referrals[breakdown].as_object().unwrap();
        assert_eq!(lines.len(), expected.len(), "{table}: {csv}");
        for (key, _, value) in lines {
            assert_eq!(value, cell(&expected[&key]), "{table} {key}");
        }
    }
    // Month x source: each month's line of cells is the summary's cross-tabulation row.
    let cross = summary["referrals_by_month_and_referrer_kind"]
        .as_object()
        .unwrap();
    assert!(!cross.is_empty());
    let lines = csv_table(&csv, "referrals-by-month-and-source");
    for (month, row) in cross {
        let mut shown: Vec<String> = lines
            .iter()
            .filter(|(k, _, _)| k == month)
            .map(|(_, _, v)| v.clone())
            .collect();
        let mut expected: Vec<String> = row.as_object().unwrap().values().map(cell).collect();
        shown.sort();
        expected.sort();
        assert_eq!(shown, expected, "{month}: {csv}");
    }
    assert!(html.contains("Referrals by month and kind of referring organisation"));
    assert!(html.contains("Connections by kind of community service"));
    let journey = csv_table(&csv, "journey");
    let total = journey.iter().find(|(k, _, _)| k == "referrals").unwrap();
    assert_eq!(total.2, cell(&referrals["total"]));
    assert!(csv.contains("referrals-by-month,2026-02,February 2026,Referrals,*"));
    w.assert_nothing_personal();
}

#[tokio::test]
async fn the_months_filter_is_the_summarys_and_a_bad_month_is_refused_on_the_page() {
    let w = World::new().await;
    let seq = population(&w).await;
    let cookie = w.sign_in("icb-a", &[Role::Commissioner]).await;
    let january = w
        .json(
            &format!("/summary?from=2026-01&to=2026-01&min_sequence={seq}"),
            &w.commissioner_a,
        )
        .await;
    let (status, _, csv) = w
        .page(
            &format!("/dashboard.csv?from=2026-01&to=2026-01&min_sequence={seq}"),
            Some(&cookie),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let by_source = csv_table(&csv, "referrals-by-source");
    let expected = january["measures"]["referrals"]["by_referrer_kind"]
        .as_object()
        .unwrap();
    assert_eq!(by_source.len(), expected.len());
    for (key, _, value) in by_source {
        assert_eq!(value, cell(&expected[&key]), "{key}");
    }
    assert!(!csv.contains("2026-02"), "{csv}");
    let (_, _, html) = w.page("/?from=2026-01&to=2026-01", Some(&cookie)).await;
    assert!(html.contains("referrals from January 2026 to January 2026"));
    assert!(html.contains("href=\"/dashboard.csv?from=2026-01&amp;to=2026-01\""));
    // Blank fields (what the form sends when they are empty) are no limit.
    let (status, _, html) = w.page("/?from=&to=", Some(&cookie)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("all months of referral"));

    let (status, _, html) = w.page("/?from=2026-13&to=Jan", Some(&cookie)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("<title>Error: Social prescribing in your area - Reports - Linkway</title>")
    );
    assert!(html.contains("nhsuk-error-summary"));
    assert!(html.contains("href=\"#from\"") && html.contains("href=\"#to\""));
    assert!(html.contains("value=\"2026-13\""), "what was typed is kept");
    assert!(!html.contains("linkway-chart"), "no figures");
    // Nobody signed in: the month is refused too, and a good one is sent to sign in.
    let (status, _, _) = w.page("/?from=2026-13", None).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    w.assert_nothing_personal();
}

#[tokio::test]
async fn only_commissioners_see_the_dashboard() {
    let w = World::new().await;
    population(&w).await;
    for path in ["/", "/dashboard.csv", "/?from=2026-01"] {
        let (status, headers, _) = w.page(path, None).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        let location = headers["location"].to_str().unwrap();
        assert!(location.starts_with("/sign-in?return_to=%2F"), "{location}");
    }
    for (organisation, role) in [
        ("gp-a", Role::Referrer),
        ("lw-a", Role::LinkWorker),
        ("lw-a", Role::ServiceManager),
        ("ops", Role::Admin),
    ] {
        let cookie = w.sign_in(organisation, &[role]).await;
        for path in ["/", "/dashboard.csv"] {
            let (status, headers, body) = w.page(path, Some(&cookie)).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{role:?} {path}: {body}");
            assert!(
                headers["content-type"]
                    .to_str()
                    .unwrap()
                    .starts_with("text/html")
            );
            assert!(body.contains("You cannot use this page"), "{body}");
            assert!(!body.contains("linkway-chart") && !body.contains("Referrals"));
        }
    }
    // A commissioner whose organisation has no area has no dashboard.
    let cookie = w.sign_in("ops", &[Role::Commissioner]).await;
    let (status, _, body) = w.page("/", Some(&cookie)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert!(body.contains("no commissioner area"));
    // A forged cookie is no session.
    let (status, _, _) = w.page("/", Some("linkway_session=forged")).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    w.assert_nothing_personal();
}

#[test]
fn the_document_describes_the_pages_as_html_and_csv() {
    let doc = serde_json::to_value(linkway_reporting::openapi()).unwrap();
    for (path, id, media) in [
        ("/", "getDashboard", "text/html"),
        ("/dashboard.csv", "getDashboardCsv", "text/csv"),
    ] {
        let op = &doc["paths"][path]["get"];
        assert_eq!(op["operationId"], id);
        assert!(
            op["responses"]["200"]["content"][media].is_object(),
            "{path}"
        );
        assert!(op["responses"]["303"].is_object());
        for status in ["403", "409", "503"] {
            assert!(
                op["responses"][status]["content"]["text/html"].is_object(),
                "{path} {status}"
            );
        }
        let unprocessable = &op["responses"]["422"]["content"];
        assert!(unprocessable["text/html"].is_object());
        assert!(unprocessable["application/problem+json"].is_object());
        let from = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "from")
            .unwrap();
        assert_eq!(
            from["schema"]["pattern"], "^(?:[0-9]{4}-(?:0[1-9]|1[0-2]))?$",
            "a blank field is allowed"
        );
    }
}
