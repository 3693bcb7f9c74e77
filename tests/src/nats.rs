use std::path::{Path, PathBuf};

use crate::process::{Server, Slot, Watched, wait_for_port};

/// A private nats-server with JetStream: on its own, or one node of a [`NatsCluster`].
pub struct Nats {
    port: u16,
    store: tempfile::TempDir,
    /// Set for a cluster node: its name and how it reaches the others.
    cluster: Option<ClusterNode>,
    /// The nats-server executable ([`binary`] unless a test wants another version).
    binary: PathBuf,
    /// A configuration file to start from, and the environment it reads.
    config: Option<(PathBuf, Vec<(String, String)>)>,
    process: Slot,
}

/// How one node of a cluster is started.
struct ClusterNode {
    /// Server name (`n1`, `n2` ...), what stream info names as leader and replicas.
    name: String,
    cluster_name: String,
    /// Port this node listens on for routes from the others.
    route_port: u16,
    /// Route ports of every node, this one included (nats-server ignores a route to itself).
    routes: Vec<u16>,
}

/// The nats-server to run: `LINKWAY_NATS_SERVER`, else the project-local one that
/// `deploy/infra.sh` installs (Linkway needs >= 2.11; Debian's is 2.9), else `PATH`.
pub fn binary() -> PathBuf {
    if let Some(path) = std::env::var_os("LINKWAY_NATS_SERVER") {
        return path.into();
    }
    let local =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../.linkway/venv/bin/nats-server");
    if local.exists() {
        return local;
    }
    "nats-server".into()
}

impl Nats {
    pub fn start() -> std::io::Result<Nats> {
        let nats = Nats::new(None)?;
        nats.run()?;
        Ok(nats)
    }

    /// A lone server run from another executable, e.g. an old release a test expects
    /// Linkway to refuse.
    pub fn start_binary(binary: impl Into<PathBuf>) -> std::io::Result<Nats> {
        let nats = Nats {
            binary: binary.into(),
            ..Nats::new(None)?
        };
        nats.run()?;
        Ok(nats)
    }

    /// A lone server started from a configuration file (e.g. one `deploy/nats/` ships)
    /// with `env` set for it; its port, store and monitoring port are the harness's own.
    pub fn start_with_config(config: &Path, env: &[(&str, &str)]) -> std::io::Result<Nats> {
        let env = env
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let nats = Nats {
            config: Some((config.to_owned(), env)),
            ..Nats::new(None)?
        };
        nats.run()?;
        Ok(nats)
    }

    fn new(cluster: Option<ClusterNode>) -> std::io::Result<Nats> {
        Ok(Nats {
            port: crate::free_port(),
            store: tempfile::Builder::new().prefix("linkway-nats-").tempdir()?,
            cluster,
            binary: binary(),
            config: None,
            process: Slot::default(),
        })
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server name of a cluster node (`n1` ...); `None` for a lone server.
    pub fn name(&self) -> Option<&str> {
        self.cluster.as_ref().map(|c| c.name.as_str())
    }

    /// The server's log so far (stdout and stderr).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.store.path().join("server.log")).unwrap_or_default()
    }
}

impl Server for Nats {
    fn slot(&self) -> &Slot {
        &self.process
    }

    fn run(&self) -> std::io::Result<()> {
        let mut command = format!(
            "{} -a 127.0.0.1 -p {} -js -sd {}",
            self.binary.display(),
            self.port,
            self.store.path().display(),
        );
        if let Some((config, env)) = &self.config {
            // Its own store, in place of the configuration's (nats-server refuses both);
            // included files inlined, since the copy lives elsewhere.
            let text = inline_includes(config, 0)?;
            let ours: String = text
                .lines()
                .map(|l| match l.trim_start().starts_with("store_dir") {
                    true => format!("store_dir: \"{}\"\n", self.store.path().display()),
                    false => format!("{l}\n"),
                })
                .collect();
            let copy = self.store.path().join("server.conf");
            std::fs::write(&copy, ours)?;
            let env: Vec<String> = env.iter().map(|(k, v)| format!("{k}='{v}'")).collect();
            command = format!(
                "env {} {} -a 127.0.0.1 -p {} -c {} -m {}",
                env.join(" "),
                self.binary.display(),
                self.port,
                copy.display(),
                crate::free_port()
            );
        }
        if let Some(c) = &self.cluster {
            let routes: Vec<String> = c
                .routes
                .iter()
                .map(|p| format!("nats://127.0.0.1:{p}"))
                .collect();
            command.push_str(&format!(
                " -n {} --cluster_name {} --cluster nats://127.0.0.1:{} --routes {}",
                c.name,
                c.cluster_name,
                c.route_port,
                routes.join(",")
            ));
        }
        command.push_str(&format!(
            " >>{}/server.log 2>&1",
            self.store.path().display()
        ));
        let watched = Watched::spawn(&command, None, "TERM")?;
        wait_for_port(self.port, "nats-server")?;
        self.process.put(watched);
        Ok(())
    }
}

/// The text of the configuration at `path` with every `include <file>` line replaced by
/// that file's text (read relative to the including file, as nats-server does).
fn inline_includes(path: &Path, depth: usize) -> std::io::Result<String> {
    if depth > 8 {
        return Err(std::io::Error::other(
            "nats-server includes nested too deep",
        ));
    }
    let text = std::fs::read_to_string(path)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        match line.trim_start().strip_prefix("include ") {
            Some(name) => {
                let name = name.trim().trim_matches(|c| c == '"' || c == '\'');
                out.push_str(&inline_includes(&dir.join(name), depth + 1)?);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    Ok(out)
}

/// A cluster of nats-servers with JetStream, routed to each other on free ports. Each node
/// is a [`Server`]: stop, kill or restart any of them.
pub struct NatsCluster {
    nodes: Vec<Nats>,
}

impl NatsCluster {
    /// Starts `size` nodes (3 for R3 streams) and returns once every one accepts clients.
    /// JetStream needs a moment more to elect its meta leader: see
    /// [`NatsCluster::wait_for_jetstream`].
    pub fn start(size: usize) -> std::io::Result<NatsCluster> {
        let route_ports: Vec<u16> = (0..size).map(|_| crate::free_port()).collect();
        let cluster_name = format!("linkway-test-{}", std::process::id());
        let nodes = route_ports
            .iter()
            .enumerate()
            .map(|(i, &route_port)| {
                Nats::new(Some(ClusterNode {
                    name: format!("n{}", i + 1),
                    cluster_name: cluster_name.clone(),
                    route_port,
                    routes: route_ports.clone(),
                }))
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        for node in &nodes {
            node.run()?;
        }
        Ok(NatsCluster { nodes })
    }

    pub fn nodes(&self) -> &[Nats] {
        &self.nodes
    }

    pub fn node(&self, i: usize) -> &Nats {
        &self.nodes[i]
    }

    /// The node with this server name (as stream info names leaders and replicas).
    pub fn node_named(&self, name: &str) -> Option<&Nats> {
        self.nodes.iter().find(|n| n.name() == Some(name))
    }

    /// Every node's client URL, in node order: the seed list for `LINKWAY_NATS_URL`.
    pub fn urls(&self) -> Vec<String> {
        self.nodes.iter().map(Nats::url).collect()
    }

    /// Waits until JetStream answers API requests (its meta leader is elected), at most
    /// 30 s, through a client connected to every node.
    pub async fn wait_for_jetstream(&self) -> std::io::Result<()> {
        let client = async_nats::ConnectOptions::new()
            .retry_on_initial_connect()
            .connect(self.urls())
            .await
            .map_err(std::io::Error::other)?;
        let js = async_nats::jetstream::new(client);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            match js.query_account().await {
                Ok(_) => return Ok(()),
                Err(e) if std::time::Instant::now() > deadline => {
                    return Err(std::io::Error::other(format!(
                        "JetStream in the cluster did not answer within 30 s: {e}"
                    )));
                }
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
            }
        }
    }
}
