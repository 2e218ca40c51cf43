//! The auth engine of one service: its settings, passdbs (normal and master), userdbs and
//! mechanisms, built from the configuration with Dovecot's startup checks. The lookups
//! themselves are in `lookup.rs`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::cache::AuthCache;
use super::db::template::Template;
use super::db::{new_passdb, new_userdb, PassdbDriver, UserdbDriver};
use super::mech::{self, Mechanism, PassdbNeed};
use super::settings::{AuthSettings, DbSettings, Skip};
use super::worker::WorkerClient;
use crate::config::{Config, FilterQuery};

pub struct Passdb {
    pub settings: DbSettings,
    pub driver: Box<dyn PassdbDriver>,
    pub default_fields: Template,
    pub override_fields: Template,
}

pub struct Userdb {
    pub settings: DbSettings,
    pub driver: Box<dyn UserdbDriver>,
    pub default_fields: Template,
    pub override_fields: Template,
}

/// One service's auth: what a request is checked against.
pub struct Auth {
    pub settings: Arc<AuthSettings>,
    pub passdbs: Vec<Passdb>,
    pub masterdbs: Vec<Passdb>,
    pub userdbs: Vec<Userdb>,
    pub mechanisms: Vec<&'static Mechanism>,
    /// Where blocking lookups go; None = run them in the calling thread.
    pub workers: Option<WorkerClient>,
    pub cache: Option<AuthCache>,
}

impl Auth {
    /// Builds the engine; an error is what Dovecot's auth process dies with at startup.
    pub fn new(settings: AuthSettings) -> Result<Auth, String> {
        mech::apop::note_start();
        let settings = Arc::new(settings);
        let mut mechanisms = Vec::new();
        for name in &settings.mechanisms {
            if name == "ANONYMOUS" && settings.anonymous_username.is_empty() {
                return Err(
                    "ANONYMOUS listed in mechanisms, but anonymous_username not set".into(),
                );
            }
            match mech::find(name) {
                Some(m) => mechanisms.push(m),
                None => return Err(format!("Unknown authentication mechanism '{name}'")),
            }
        }
        if mechanisms.is_empty() {
            return Err("No authentication mechanisms configured".into());
        }
        let build_passdb = |db: &DbSettings| -> Result<Passdb, String> {
            Ok(Passdb {
                settings: db.clone(),
                driver: new_passdb(db, &settings)?,
                default_fields: Template::parse(&db.default_fields),
                override_fields: Template::parse(&db.override_fields),
            })
        };
        let mut passdbs = Vec::new();
        let mut masterdbs = Vec::new();
        // A first passdb with skip=unauthenticated would never be used: Dovecot drops it.
        for db in settings.passdbs.iter().filter(|db| !db.master) {
            if passdbs.is_empty() && db.skip == Skip::Unauthenticated {
                continue;
            }
            passdbs.push(build_passdb(db)?);
        }
        if passdbs.last().is_some_and(|p: &Passdb| p.settings.pass) {
            return Err("Last passdb can't have pass=yes".into());
        }
        for db in settings.passdbs.iter().filter(|db| db.master) {
            if masterdbs.is_empty() && db.skip == Skip::Unauthenticated {
                continue;
            }
            if db.deny {
                return Err("Master passdb can't have deny=yes".into());
            }
            if db.pass && passdbs.is_empty() {
                return Err("Master passdb can't have pass=yes if there are no passdbs".into());
            }
            masterdbs.push(build_passdb(db)?);
        }
        let userdb_settings = if settings.userdbs.is_empty() {
            // Dovecot's implicit userdb when none is configured.
            let mut db = DbSettings::new("static", "");
            db.result_failure = super::settings::Rule::Continue;
            vec![db]
        } else {
            settings.userdbs.clone()
        };
        let only_userdb = userdb_settings.len() == 1;
        let mut userdbs = Vec::new();
        for db in &userdb_settings {
            userdbs.push(Userdb {
                settings: db.clone(),
                driver: new_userdb(db, &settings, only_userdb)?,
                default_fields: Template::parse(&db.default_fields),
                override_fields: Template::parse(&db.override_fields),
            });
        }
        for m in &mechanisms {
            let ok = match m.passdb_need {
                PassdbNeed::Nothing => true,
                PassdbNeed::VerifyPlain => !passdbs.is_empty(),
                PassdbNeed::LookupCredentials => {
                    passdbs.iter().any(|p| p.driver.supports_credentials())
                }
            };
            if !ok {
                if passdbs.is_empty() {
                    return Err(format!(
                        "No passdbs specified in configuration file. {} mechanism needs one",
                        m.name
                    ));
                }
                return Err(format!(
                    "{} mechanism can't be supported with given passdbs",
                    m.name
                ));
            }
        }
        let cache = AuthCache::new(&settings);
        Ok(Auth {
            settings,
            passdbs,
            masterdbs,
            userdbs,
            mechanisms,
            workers: None,
            cache,
        })
    }

    /// The mechanism `name` if `auth_mechanisms` has it.
    pub fn mechanism(&self, name: &str) -> Option<&'static Mechanism> {
        self.mechanisms
            .iter()
            .find(|m| m.name.eq_ignore_ascii_case(name))
            .copied()
    }

    pub fn passdb(&self, r: super::request::PassdbRef) -> Option<&Passdb> {
        if r.master {
            self.masterdbs.get(r.index)
        } else {
            self.passdbs.get(r.index)
        }
    }
}

/// The auth engines of a process, one per service name (protocol filters may give `imap`
/// other passdbs than `pop3`), built on first use from the configuration.
pub struct AuthSet {
    config: Config,
    workers: Option<WorkerClient>,
    by_service: Mutex<HashMap<String, Arc<Auth>>>,
}

impl AuthSet {
    pub fn new(config: Config, workers: Option<WorkerClient>) -> AuthSet {
        AuthSet {
            config,
            workers,
            by_service: Mutex::new(HashMap::new()),
        }
    }

    /// The engine for `service` ("" = the global settings).
    pub fn get(&self, service: &str) -> Result<Arc<Auth>, String> {
        let mut map = self.by_service.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(auth) = map.get(service) {
            return Ok(Arc::clone(auth));
        }
        let query = FilterQuery {
            protocol: (!service.is_empty()).then(|| service.to_string()),
            ..FilterQuery::default()
        };
        let settings = AuthSettings::from_settings(&self.config.settings(&query))?;
        // Services whose settings equal the global ones share its engine (and caches).
        let global = match map.get("") {
            Some(a) => Some(Arc::clone(a)),
            None if service.is_empty() => None,
            None => {
                let g = AuthSettings::from_settings(&self.config.global())?;
                let mut auth = Auth::new(g)?;
                auth.workers = self.workers.clone();
                let auth = Arc::new(auth);
                map.insert(String::new(), Arc::clone(&auth));
                Some(auth)
            }
        };
        let auth = match global {
            Some(g) if *g.settings == settings => g,
            _ => {
                let mut auth = Auth::new(settings)?;
                auth.workers = self.workers.clone();
                Arc::new(auth)
            }
        };
        map.insert(service.to_string(), Arc::clone(&auth));
        Ok(auth)
    }

    /// Whether a passdb wants this worker process replaced (PAM `max_requests`).
    pub fn worker_restart_wanted(&self) -> bool {
        let map = self.by_service.lock().unwrap_or_else(|p| p.into_inner());
        map.values().any(|auth| {
            auth.passdbs
                .iter()
                .chain(&auth.masterdbs)
                .any(|p| p.driver.worker_restart_wanted())
        })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }
}
