//! The auth service's part of proxying (Dovecot's `auth_request_proxy_finish`): after a
//! successful passdb lookup whose fields say `proxy` or `proxy_maybe`, the host is resolved
//! to `hostip` (login processes run chrooted, where no resolver works), and `proxy_maybe`
//! becomes `proxy` when the host is another server, or is dropped with every proxy field when
//! the host is this one (the address the client connected to, or one of `auth_proxy_self`,
//! and the same port): then the user logs in here.

use std::net::{IpAddr, ToSocketAddrs};

use crate::log::Level;

use super::request::AuthRequest;

/// The fields that make a proxy destination, dropped when the user logs in here.
const PROXY_FIELDS: &[&str] = &[
    "proxy",
    "proxy_maybe",
    "proxy_always",
    "host",
    "port",
    "destuser",
];

/// The proxy host could not be resolved (the reason is logged); the lookup is an internal
/// failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HostLookupFailed;

/// Settles the proxy fields of a successful lookup.
pub fn finish(request: &mut AuthRequest) -> Result<(), HostLookupFailed> {
    if request.auth_only {
        return Ok(());
    }
    let fields = &request.extra_fields;
    if !fields.contains("proxy") && !fields.contains("proxy_maybe") {
        return Ok(());
    }
    let Some(host) = fields.get("host").map(str::to_string) else {
        // A director fills in the host: it gets the local address for its own proxy_maybe.
        if let Some(ip) = request.local_ip {
            request.extra_fields.add("lip", &ip.to_string(), false);
        }
        if request.local_port != 0 {
            let port = request.local_port.to_string();
            request.extra_fields.add("lport", &port, false);
        }
        finish_maybe(request, false);
        return Ok(());
    };
    let ips: Vec<IpAddr> = if let Ok(ip) = host.parse::<IpAddr>() {
        vec![ip]
    } else if let Some(hostip) = request.extra_fields.get("hostip") {
        match hostip.parse::<IpAddr>() {
            Ok(ip) => vec![ip],
            Err(_) => {
                let message = format!("Invalid hostip in passdb: {hostip}");
                request.log(Level::Error, Some(&request.log_prefix("proxy")), &message);
                return Err(HostLookupFailed);
            }
        }
    } else {
        match (host.as_str(), 0).to_socket_addrs() {
            Ok(addrs) => {
                let ips: Vec<IpAddr> = addrs.map(|a| a.ip()).collect();
                let Some(first) = ips.first() else {
                    let message = format!("DNS lookup for {host} failed: no addresses");
                    request.log(Level::Error, Some(&request.log_prefix("proxy")), &message);
                    return Err(HostLookupFailed);
                };
                request
                    .extra_fields
                    .add("hostip", &first.to_string(), false);
                ips
            }
            Err(e) => {
                let message = format!(
                    "DNS lookup for {host} failed: {}",
                    crate::errtext::os_error_text(&e)
                );
                request.log(Level::Error, Some(&request.log_prefix("proxy")), &message);
                return Err(HostLookupFailed);
            }
        }
    };
    let is_self = ips.iter().any(|ip| ip_is_self(request, *ip));
    finish_maybe(request, is_self);
    Ok(())
}

/// Whether `ip` is this server: the address the client connected to, or `auth_proxy_self`.
fn ip_is_self(request: &AuthRequest, ip: IpAddr) -> bool {
    request.real_local_ip == Some(ip) || request.settings.proxy_self.contains(&ip)
}

/// `proxy_maybe` decided: proxy unless the host is this server on the same port.
fn finish_maybe(request: &mut AuthRequest, host_is_self: bool) {
    let fields = &mut request.extra_fields;
    if !fields.contains("proxy_maybe") {
        return;
    }
    let same_port = fields
        .get("port")
        .is_none_or(|p| p.parse::<u16>().ok() == Some(request.local_port));
    if !host_is_self || !same_port {
        fields.remove("proxy_maybe");
        fields.add("proxy", "", false);
        return;
    }
    let always = fields.contains("proxy_always");
    for field in PROXY_FIELDS {
        fields.remove(field);
    }
    if always {
        // "Self" is this director cluster: the director fills in the backend.
        fields.add("proxy", "", false);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::auth::settings::AuthSettings;

    fn request(fields: &[(&str, &str)], self_ips: &[&str]) -> AuthRequest {
        let mut settings = AuthSettings::with_dbs(Vec::new(), Vec::new());
        settings.proxy_self = self_ips.iter().filter_map(|s| s.parse().ok()).collect();
        let mut request = AuthRequest::new(Arc::new(settings));
        request.local_ip = "127.0.0.1".parse().ok();
        request.real_local_ip = request.local_ip;
        request.local_port = 143;
        for (k, v) in fields {
            request.extra_fields.add(k, v, false);
        }
        request
    }

    fn visible(request: &AuthRequest) -> Vec<String> {
        request
            .extra_fields
            .visible()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    #[test]
    fn proxy_maybe_to_another_host_proxies() {
        let mut r = request(&[("proxy_maybe", "y"), ("host", "127.0.0.2")], &[]);
        finish(&mut r).unwrap();
        assert!(r.extra_fields.contains("proxy"));
        assert!(!r.extra_fields.contains("proxy_maybe"));
        assert_eq!(r.extra_fields.get("host"), Some("127.0.0.2"));
    }

    #[test]
    fn proxy_maybe_to_ourself_logs_in_here() {
        let mut r = request(
            &[("proxy_maybe", "y"), ("host", "127.0.0.1"), ("pass", "x")],
            &[],
        );
        finish(&mut r).unwrap();
        assert_eq!(visible(&r), vec!["pass=x"]);
        // Another port on this address is another server.
        let mut r = request(
            &[
                ("proxy_maybe", "y"),
                ("host", "127.0.0.1"),
                ("port", "1143"),
            ],
            &[],
        );
        finish(&mut r).unwrap();
        assert!(r.extra_fields.contains("proxy"));
        // auth_proxy_self names more addresses of this server.
        let mut r = request(&[("proxy_maybe", "y"), ("host", "10.0.0.5")], &["10.0.0.5"]);
        finish(&mut r).unwrap();
        assert!(!r.extra_fields.contains("proxy") && !r.extra_fields.contains("host"));
    }

    #[test]
    fn names_are_resolved_and_bad_hostips_fail() {
        let mut r = request(&[("proxy", "y"), ("host", "localhost")], &[]);
        finish(&mut r).unwrap();
        let hostip: IpAddr = r.extra_fields.get("hostip").unwrap().parse().unwrap();
        assert!(hostip.is_loopback());
        let mut r = request(
            &[("proxy", "y"), ("host", "backend"), ("hostip", "nonsense")],
            &[],
        );
        assert!(finish(&mut r).is_err());
    }

    #[test]
    fn without_host_the_director_gets_the_local_address() {
        let mut r = request(&[("proxy", "y")], &[]);
        finish(&mut r).unwrap();
        assert_eq!(r.extra_fields.get("lip"), Some("127.0.0.1"));
        assert_eq!(r.extra_fields.get("lport"), Some("143"));
    }
}
