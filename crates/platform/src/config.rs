//! Configuration, in layers: built-in defaults < `rounds.toml` < `ROUNDS_*` environment
//! variables < command-line flags. `Config::describe` prints the effective values with secrets
//! masked, for `rounds config`.

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and backups live.
    pub data_dir: PathBuf,
    /// `postgres://…` for PostgreSQL; empty for the SQLite file in `data_dir`.
    pub database_url: String,
    /// Address the web server listens on; loopback unless told otherwise.
    pub bind: String,
    /// The address users reach Rounds at. When it is `https://…` (TLS at a reverse proxy), the
    /// session cookie is marked Secure.
    pub public_url: String,
    /// A session ends after this long without a request…
    pub session_idle_minutes: i64,
    /// …and after this long in any case.
    pub session_max_hours: i64,
    /// Failed sign-ins before an account is locked, and for how long.
    pub signin_max_failures: i64,
    pub signin_lock_minutes: i64,
    /// Failed sign-ins from one address before it is locked out (covers guessing across accounts).
    pub signin_max_failures_per_address: i64,
    /// Largest accepted request body, in bytes.
    pub max_body_bytes: usize,
    /// Largest accepted upload (data files for import), in bytes.
    pub max_upload_bytes: usize,
    /// `text` or `json` log lines on standard error.
    pub log_format: String,
    /// Run the job worker in this process.
    pub jobs: bool,
    /// Take the client address (for the audit log and sign-in throttling) from the
    /// `X-Forwarded-For` header. Turn on only behind a reverse proxy that sets that header itself.
    pub behind_proxy: bool,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("rounds-data"),
            database_url: String::new(),
            bind: "127.0.0.1:8080".to_string(),
            public_url: String::new(),
            session_idle_minutes: 30,
            session_max_hours: 12,
            signin_max_failures: 5,
            signin_lock_minutes: 15,
            signin_max_failures_per_address: 20,
            max_body_bytes: 2 * 1024 * 1024,
            max_upload_bytes: 1024 * 1024 * 1024,
            log_format: "text".to_string(),
            jobs: true,
            behind_proxy: false,
        }
    }
}

/// Values given on the command line (the top layer).
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<String>,
    pub bind: Option<String>,
}

pub const FILE_NAME: &str = "rounds.toml";

impl Config {
    /// Builds the configuration from every layer, reading the real process environment.
    pub fn load(overrides: &Overrides) -> Result<Config> {
        Config::load_with(overrides, |name| std::env::var(name).ok())
    }

    /// As `load`, with the environment given (for tests).
    pub fn load_with(
        overrides: &Overrides,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Config> {
        let file = overrides
            .config_file
            .clone()
            .or_else(|| env("ROUNDS_CONFIG").map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from(FILE_NAME));
        let mut config = if file.exists() {
            Config::from_file(&file)?
        } else if overrides.config_file.is_some() {
            return Err(Error::Config(format!(
                "configuration file {} does not exist",
                file.display()
            )));
        } else {
            Config::default()
        };
        config.apply_env(env)?;
        if let Some(dir) = &overrides.data_dir {
            config.data_dir = dir.clone();
        }
        if let Some(url) = &overrides.database_url {
            config.database_url = url.clone();
        }
        if let Some(bind) = &overrides.bind {
            config.bind = bind.clone();
        }
        config.check()?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read {}: {e}", path.display())))?;
        toml::from_str(&text).map_err(|e| Error::Config(format!("{}: {e}", path.display())))
    }

    fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<()> {
        fn number<T: std::str::FromStr>(name: &str, value: String) -> Result<T> {
            value
                .trim()
                .parse()
                .map_err(|_| Error::Config(format!("{name}: '{value}' is not a whole number")))
        }
        if let Some(v) = env("ROUNDS_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("ROUNDS_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = env("ROUNDS_BIND") {
            self.bind = v;
        }
        if let Some(v) = env("ROUNDS_PUBLIC_URL") {
            self.public_url = v;
        }
        if let Some(v) = env("ROUNDS_SESSION_IDLE_MINUTES") {
            self.session_idle_minutes = number("ROUNDS_SESSION_IDLE_MINUTES", v)?;
        }
        if let Some(v) = env("ROUNDS_SESSION_MAX_HOURS") {
            self.session_max_hours = number("ROUNDS_SESSION_MAX_HOURS", v)?;
        }
        if let Some(v) = env("ROUNDS_SIGNIN_MAX_FAILURES") {
            self.signin_max_failures = number("ROUNDS_SIGNIN_MAX_FAILURES", v)?;
        }
        if let Some(v) = env("ROUNDS_SIGNIN_LOCK_MINUTES") {
            self.signin_lock_minutes = number("ROUNDS_SIGNIN_LOCK_MINUTES", v)?;
        }
        if let Some(v) = env("ROUNDS_MAX_BODY_BYTES") {
            self.max_body_bytes = number("ROUNDS_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = env("ROUNDS_MAX_UPLOAD_BYTES") {
            self.max_upload_bytes = number("ROUNDS_MAX_UPLOAD_BYTES", v)?;
        }
        if let Some(v) = env("ROUNDS_LOG_FORMAT") {
            self.log_format = v;
        }
        let flag = |v: String| !matches!(v.trim(), "0" | "false" | "off" | "no");
        if let Some(v) = env("ROUNDS_JOBS") {
            self.jobs = flag(v);
        }
        if let Some(v) = env("ROUNDS_BEHIND_PROXY") {
            self.behind_proxy = flag(v);
        }
        Ok(())
    }

    fn check(&self) -> Result<()> {
        if !self.database_url.is_empty() {
            crate::db::backend_of(&self.database_url)?;
        }
        if self.bind.parse::<std::net::SocketAddr>().is_err() {
            return Err(Error::Config(format!(
                "bind: '{}' is not an address such as 127.0.0.1:8080",
                self.bind
            )));
        }
        for (name, value) in [
            ("session_idle_minutes", self.session_idle_minutes),
            ("session_max_hours", self.session_max_hours),
            ("signin_max_failures", self.signin_max_failures),
            ("signin_lock_minutes", self.signin_lock_minutes),
            (
                "signin_max_failures_per_address",
                self.signin_max_failures_per_address,
            ),
        ] {
            if value < 1 {
                return Err(Error::Config(format!(
                    "{name} must be at least 1 (it is {value})"
                )));
            }
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            return Err(Error::Config(format!(
                "log_format must be text or json (it is '{}')",
                self.log_format
            )));
        }
        Ok(())
    }

    /// The database to open: the PostgreSQL URL if given, else the SQLite file in `data_dir`.
    pub fn database(&self) -> Result<String> {
        if self.database_url.is_empty() {
            crate::db::Db::sqlite_url(&self.data_dir)
        } else {
            Ok(self.database_url.clone())
        }
    }

    pub fn secure_cookies(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    /// The effective configuration as TOML, with the database password masked.
    pub fn describe(&self) -> String {
        let mut shown = self.clone();
        shown.database_url = crate::db::mask_url(&shown.database_url);
        toml::to_string(&shown)
            .unwrap_or_else(|e| format!("# cannot show the configuration: {e}\n"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn each_layer_overrides_the_one_below() {
        let dir = std::env::temp_dir().join(format!("rounds-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("rounds.toml");
        std::fs::write(
            &file,
            "bind = \"0.0.0.0:9000\"\nsession_idle_minutes = 20\nsignin_lock_minutes = 30\n",
        )
        .unwrap();
        let overrides = Overrides {
            config_file: Some(file),
            bind: Some("127.0.0.1:7000".into()),
            ..Default::default()
        };
        let config =
            Config::load_with(&overrides, env(&[("ROUNDS_SESSION_IDLE_MINUTES", "10")])).unwrap();
        assert_eq!(config.bind, "127.0.0.1:7000", "flag over file");
        assert_eq!(config.session_idle_minutes, 10, "environment over file");
        assert_eq!(config.signin_lock_minutes, 30, "file over default");
        assert_eq!(config.session_max_hours, 12, "default");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_values_are_named() {
        let err = Config::load_with(
            &Overrides::default(),
            env(&[("ROUNDS_SESSION_IDLE_MINUTES", "soon")]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("ROUNDS_SESSION_IDLE_MINUTES: 'soon'"), "{err}");
        let err = Config::load_with(
            &Overrides {
                bind: Some("everywhere".into()),
                ..Default::default()
            },
            env(&[]),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("bind: 'everywhere'"), "{err}");
    }

    #[test]
    fn the_description_masks_the_database_password() {
        let config = Config {
            database_url: "postgres://rounds:hunter22@db/rounds".into(),
            ..Default::default()
        };
        let text = config.describe();
        assert!(!text.contains("hunter22"));
        assert!(text.contains("postgres://rounds:****@db/rounds"));
    }
}
