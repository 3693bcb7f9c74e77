//! The settings file, and where each setting's value came from.
//!
//! The file is TOML, one key per setting, named like the flag with `_` for `-`
//! (`nats_url = ["nats://a:4222", "nats://b:4222"]`, `batch_size = 2000`). Its values
//! replace the built-in defaults before the command line is parsed, so the environment
//! and flags still override them. A key that is not a setting is an error, not ignored.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::parser::ValueSource;

/// The flag naming the file.
const CONFIG_FLAG: &str = "--config";
/// The variable naming the file.
pub const CONFIG_VAR: &str = "LINKWAY_CONFIG";

/// The settings file named on the command line (`--config FILE` or `--config=FILE`), or
/// else by `LINKWAY_CONFIG`.
pub fn named(args: &[OsString]) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let Some(arg) = arg.to_str() else { continue };
        if arg == "--" {
            break;
        }
        if arg == CONFIG_FLAG {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    std::env::var_os(CONFIG_VAR).map(PathBuf::from)
}

/// Every setting's argument: those backed by a `LINKWAY_*` variable.
pub fn settings_of(command: &clap::Command) -> impl Iterator<Item = &clap::Arg> {
    command
        .get_arguments()
        .filter(|a| a.get_env().is_some() && a.get_id() != "config")
}

/// Makes the values in the file at `path` the defaults of `command`; returns the command
/// and the settings the file set.
pub fn apply(
    mut command: clap::Command,
    path: &Path,
) -> anyhow::Result<(clap::Command, BTreeSet<String>)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the settings file {}", path.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("parsing the settings file {}", path.display()))?;
    let known: BTreeSet<String> = settings_of(&command)
        .map(|a| a.get_id().to_string())
        .collect();
    let mut set = BTreeSet::new();
    for (key, value) in table {
        if !known.contains(&key) {
            anyhow::bail!(
                "{}: {key:?} is not a setting; settings are: {}",
                path.display(),
                known.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let value = scalar_or_list(&value).with_context(|| format!("{}: {key}", path.display()))?;
        command = command.mut_arg(&key, |a| a.default_value(value));
        set.insert(key);
    }
    Ok((command, set))
}

/// A TOML value as the command line would spell it: lists comma-separated.
fn scalar_or_list(value: &toml::Value) -> anyhow::Result<String> {
    use toml::Value as V;
    match value {
        V::String(s) => Ok(s.clone()),
        V::Integer(i) => Ok(i.to_string()),
        V::Float(f) => Ok(f.to_string()),
        V::Boolean(b) => Ok(b.to_string()),
        V::Array(items) => Ok(items
            .iter()
            .map(|v| match v {
                V::Array(_) | V::Table(_) => anyhow::bail!("a list may hold plain values only"),
                v => scalar_or_list(v),
            })
            .collect::<anyhow::Result<Vec<_>>>()?
            .join(",")),
        V::Datetime(_) | V::Table(_) => anyhow::bail!("must be a string, number, boolean or list"),
    }
}

/// One line per setting: its variable, its value (secrets redacted) and where the value
/// came from (flag, environment, file, default).
pub fn describe(
    command: &clap::Command,
    matches: &clap::ArgMatches,
    from_file: &BTreeSet<String>,
) -> String {
    let mut lines = Vec::new();
    for arg in settings_of(command) {
        let id = arg.get_id().as_str();
        let var = arg
            .get_env()
            .map(|v| v.to_string_lossy())
            .unwrap_or_default();
        let raw: Option<Vec<String>> = matches
            .get_raw(id)
            .map(|values| values.map(|v| v.to_string_lossy().into_owned()).collect());
        let value = match raw {
            None => "(not set)".to_owned(),
            // A seed URL may carry a NATS user and password: shown without them.
            Some(values) if id == "nats_url" => values
                .iter()
                .map(|v| linkway_platform::nats::without_userinfo(v))
                .collect::<Vec<_>>()
                .join(","),
            Some(_) if arg.is_hide_env_values_set() => "[redacted]".to_owned(),
            Some(values) => values.join(","),
        };
        let source = match matches.value_source(id) {
            Some(ValueSource::CommandLine) => "flag",
            Some(ValueSource::EnvVariable) => "environment",
            Some(ValueSource::DefaultValue) if from_file.contains(id) => "file",
            Some(ValueSource::DefaultValue) => "default",
            _ => "unset",
        };
        lines.push(format!("{var}={value}  ({source})"));
    }
    lines.join("\n")
}
