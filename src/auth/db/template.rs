//! `key=value` templates: a static db's `args`, and every db's `default_fields` /
//! `override_fields`. Values may hold `%` variables, expanded per request.

use crate::auth::request::AuthRequest;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Template {
    fields: Vec<(String, Option<String>)>,
}

impl Template {
    /// Parses space-separated `key[=value]` items.
    pub fn parse(args: &str) -> Template {
        Template {
            fields: args
                .split(' ')
                .filter(|a| !a.is_empty())
                .map(|a| match a.split_once('=') {
                    Some((k, v)) => (k.to_string(), Some(v.to_string())),
                    None => (a.to_string(), None),
                })
                .collect(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// Takes `key` out of the template: Some(value) when it was there (None = bare key).
    pub fn remove(&mut self, key: &str) -> Option<Option<String>> {
        let pos = self.fields.iter().position(|(k, _)| k == key)?;
        Some(self.fields.remove(pos).1)
    }

    fn expanded(&self, request: &AuthRequest) -> Result<Vec<(String, String)>, String> {
        self.fields
            .iter()
            .map(|(k, v)| match v {
                Some(v) => request.expand(v).map(|v| (k.clone(), v)),
                None => Ok((k.clone(), String::new())),
            })
            .collect()
    }

    /// Sets each field as a passdb field.
    pub fn export_passdb(&self, request: &mut AuthRequest) -> Result<(), String> {
        for (k, v) in self.expanded(request)? {
            request.set_field(&k, &v, None);
        }
        Ok(())
    }

    /// Sets each field as a userdb field.
    pub fn export_userdb(&self, request: &mut AuthRequest) -> Result<(), String> {
        // Expand each value with the fields set so far (`home=/h/%u mail=%h/Maildir`).
        for (k, v) in &self.fields {
            let value = match v {
                Some(v) => request.expand(v)?,
                None => String::new(),
            };
            request.set_userdb_field(k, &value);
        }
        Ok(())
    }
}
