//! Before the load: the run's organisations, routing rules and tokens, made through the
//! admin code path `linkway admin` and the demo use (registry events on the log), and the
//! community services directory, imported through link-worker's `importDirectory`.

use anyhow::Context;
use linkway_events::Role;
use linkway_eventstore::EventStore;
use serde_json::json;

use super::Urls;
use super::client::{Body, Call, Client};
use super::plan::Organisations;
use crate::admin::{self, AdminCommand, OrgCommand, RuleCommand, issue_token};

/// The bearer tokens of one run, by organisation index of [`Organisations`].
#[derive(Debug, Clone)]
pub struct Tokens {
    pub referrers: Vec<String>,
    /// A link worker of each service (the token names the user, so `assignCase` needs
    /// no id).
    pub link_workers: Vec<String>,
    pub commissioners: Vec<String>,
    /// A service manager (of the first service), who imports the directory.
    pub service_manager: String,
}

async fn add_org(
    store: &EventStore,
    id: &str,
    name: String,
    kind: linkway_events::registry::OrganisationKind,
    code: Option<String>,
    area: &str,
    link_worker_service: bool,
) -> anyhow::Result<()> {
    admin::run(
        store,
        AdminCommand::Org(OrgCommand::Add {
            id: id.to_owned(),
            name,
            kind,
            code,
            area: Some(area.to_owned()),
            link_worker_service,
            directory_services: Vec::new(),
        }),
    )
    .await?;
    Ok(())
}

/// Registers every organisation, a rule routing each referrer to its service, and a token
/// for each role that takes part.
pub async fn register(store: &EventStore, orgs: &Organisations) -> anyhow::Result<Tokens> {
    use linkway_events::registry::OrganisationKind;
    let area = |a: usize| orgs.commissioners[a].1.as_str();
    for (a, (id, _)) in orgs.commissioners.iter().enumerate() {
        let name = format!("Load test commissioner {a}");
        add_org(
            store,
            id,
            name,
            OrganisationKind::Commissioner,
            None,
            area(a),
            false,
        )
        .await?;
    }
    for (s, service) in orgs.services.iter().enumerate() {
        let name = format!("Load test link workers {s}");
        add_org(
            store,
            &service.id,
            name,
            OrganisationKind::Pcn,
            None,
            area(service.area),
            true,
        )
        .await?;
    }
    for r in &orgs.referrers {
        let code = Some(r.code.clone());
        add_org(
            store,
            &r.id,
            r.name.clone(),
            r.kind,
            code,
            area(r.area),
            false,
        )
        .await?;
        admin::run(
            store,
            AdminCommand::Rule(RuleCommand::Add {
                to: orgs.services[r.service].id.clone(),
                from_org: Some(r.id.clone()),
                postcode_district: None,
                priority: 10,
            }),
        )
        .await?;
    }
    let token = |org: String, role: Role, user: Option<String>| async move {
        issue_token(store, &org, role, user, Some("linkway load".into()))
            .await
            .map(|(secret, _)| secret)
    };
    let mut tokens = Tokens {
        referrers: Vec::new(),
        link_workers: Vec::new(),
        commissioners: Vec::new(),
        service_manager: String::new(),
    };
    for r in &orgs.referrers {
        tokens
            .referrers
            .push(token(r.id.clone(), Role::Referrer, None).await?);
    }
    for s in &orgs.services {
        let user = Some(format!("{}-worker", s.id));
        tokens
            .link_workers
            .push(token(s.id.clone(), Role::LinkWorker, user).await?);
    }
    for (id, _) in &orgs.commissioners {
        tokens
            .commissioners
            .push(token(id.clone(), Role::Commissioner, None).await?);
    }
    // Issued last: once a service accepts it, it has every registry event before it too.
    tokens.service_manager = token(orgs.services[0].id.clone(), Role::ServiceManager, None).await?;
    Ok(tokens)
}

/// Waits until every service has the run's registry (the last token issued is accepted).
pub async fn wait_for_registry(
    client: &Client,
    urls: &Urls,
    tokens: &Tokens,
) -> anyhow::Result<()> {
    for url in [
        format!("{}/referrals", urls.intake),
        format!("{}/caseload", urls.link_worker),
        format!("{}/summary", urls.reporting),
    ] {
        crate::demo::wait_until_authorised(client.http(), &url, &tokens.service_manager)
            .await
            .with_context(|| format!("{url}: the run's tokens"))?;
    }
    Ok(())
}

/// Imports the run's community services (Open Referral UK, one page of `contents`).
pub async fn import_directory(
    client: &Client,
    urls: &Urls,
    tokens: &Tokens,
    orgs: &Organisations,
) -> anyhow::Result<()> {
    let contents: Vec<_> = orgs
        .directory
        .iter()
        .enumerate()
        .map(|(k, id)| {
            let (kind, name) = crate::synthetic::SERVICE_KINDS[k % 6];
            json!({
                "id": id,
                "name": format!("{name} group {k}"),
                "status": "active",
                "url": format!("https://community.example/{id}"),
                "description": "A community service for the load test.",
                "attributes": [{"id": format!("{id}-kind"), "taxonomy_term": {"id": kind, "term": kind}}],
            })
        })
        .collect();
    let body = json!({"total_items": contents.len(), "contents": contents});
    let call = Call::post(
        "importDirectory",
        format!("{}/directory/import", urls.link_worker),
        &tokens.service_manager,
        Body::Json(body),
    );
    client
        .send(call)
        .await
        .map_err(|e| anyhow::anyhow!("importing the directory: {e}"))?;
    Ok(())
}
