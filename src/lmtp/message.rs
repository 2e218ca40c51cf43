//! The header lines LMTP adds above a delivered message, as Dovecot writes them:
//! `Return-Path`, `Delivered-To` (one recipient only, per `lmtp_hdr_delivery_address`) and the
//! `Received` trace record (`lmtp_add_received_header`).

use std::net::IpAddr;

use super::address::Address;
use crate::mail::date::format_message_date;

/// `lmtp_hdr_delivery_address`: which address `Delivered-To` and `Received: ... for` name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HdrDeliveryAddress {
    /// None at all.
    None,
    /// The RCPT TO address.
    Final,
    /// The original recipient (RCPT's `ORCPT=`): `Delivered-To` only when given, the
    /// `Received` trace's `for` falling back to the RCPT TO address.
    Original,
}

impl HdrDeliveryAddress {
    pub fn parse(value: &str) -> Option<HdrDeliveryAddress> {
        match value {
            "none" => Some(HdrDeliveryAddress::None),
            "final" => Some(HdrDeliveryAddress::Final),
            "original" => Some(HdrDeliveryAddress::Original),
            _ => None,
        }
    }
}

/// What the added headers say.
pub struct DeliveryHeaders<'a> {
    /// MAIL FROM (`None`: the null path).
    pub from: Option<&'a Address>,
    /// The recipient when the transaction has exactly one.
    pub rcpt: Option<&'a Address>,
    /// Its original address (`ORCPT=`), if given.
    pub orcpt: Option<&'a Address>,
    pub hdr_delivery_address: HdrDeliveryAddress,
    pub received: bool,
    /// The LHLO name.
    pub helo: Option<&'a str>,
    pub peer_ip: Option<IpAddr>,
    /// The connection's TLS (`TLSv1.3 with cipher ...`), if any.
    pub tls: Option<&'a str>,
    pub hostname: &'a str,
    /// The transaction id.
    pub id: &'a str,
    /// When the message arrived (UNIX seconds).
    pub time: i64,
}

/// Whether an LHLO argument is a usable domain (else `Received` says `unknown`).
fn valid_helo(name: &str) -> bool {
    if let Some(literal) = name.strip_prefix('[') {
        return literal.ends_with(']') && literal.len() > 1;
    }
    !name.is_empty()
        && name.split('.').all(|label| {
            !label.is_empty()
                && label
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || c == b'-')
        })
}

/// The header lines, each ending with LF (the stored form).
pub fn added_headers(h: &DeliveryHeaders<'_>) -> String {
    let from = h.from.map(Address::encode).unwrap_or_default();
    let mut out = format!("Return-Path: <{from}>\n");
    let delivered_to = match h.hdr_delivery_address {
        HdrDeliveryAddress::None => None,
        HdrDeliveryAddress::Final => h.rcpt,
        HdrDeliveryAddress::Original => h.rcpt.and(h.orcpt),
    };
    if let Some(rcpt) = delivered_to {
        out.push_str(&format!("Delivered-To: {}\n", rcpt.encode()));
    }
    out.push_str(&received_header(h));
    out
}

/// The `Received` trace record alone (empty unless `lmtp_add_received_header`): what a
/// proxied message gets, the backend adding the rest.
pub fn received_header(h: &DeliveryHeaders<'_>) -> String {
    let from = h.from.map(Address::encode).unwrap_or_default();
    let trace_for = match h.hdr_delivery_address {
        HdrDeliveryAddress::None => None,
        HdrDeliveryAddress::Final => h.rcpt,
        HdrDeliveryAddress::Original => h.rcpt.map(|r| h.orcpt.unwrap_or(r)),
    };
    let mut out = String::new();
    if h.received {
        let helo = h.helo.filter(|n| valid_helo(n)).unwrap_or("unknown");
        out.push_str(&format!("Received: from {helo}"));
        if let Some(ip) = h.peer_ip {
            out.push_str(&format!(" ([{ip}])"));
        }
        if let Some(tls) = h.tls {
            out.push_str(&format!("\n\t(using {tls})"));
        }
        let protocol = if h.tls.is_some() { "LMTPS" } else { "LMTP" };
        out.push_str(&format!(
            "\n\tby {} with {protocol}\n\tid {}\n\t(envelope-from <{from}>)",
            h.hostname, h.id
        ));
        if let Some(rcpt) = trace_for {
            out.push_str(&format!("\n\tfor <{}>", rcpt.encode()));
        }
        let offset = crate::localtime::utc_offset_minutes(h.time);
        out.push_str(&format!("; {}\n", format_message_date(h.time, offset)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn address(local: &str, domain: Option<&str>) -> Address {
        Address {
            local: local.into(),
            domain: domain.map(str::to_string),
        }
    }

    #[test]
    fn as_dovecot_writes_them() {
        let from = address("sender", Some("example.com"));
        let rcpt = address("alice", None);
        let mut h = DeliveryHeaders {
            from: Some(&from),
            rcpt: Some(&rcpt),
            orcpt: None,
            hdr_delivery_address: HdrDeliveryAddress::Final,
            received: true,
            helo: Some("client.example"),
            peer_ip: Some("127.0.0.1".parse().unwrap()),
            tls: None,
            hostname: "vm",
            id: "gFMvArBHC2tMaAAAg+zDdQ",
            time: 1_795_901_360,
        };
        let text = added_headers(&h);
        let offset = crate::localtime::utc_offset_minutes(h.time);
        let date = format_message_date(h.time, offset);
        assert_eq!(
            text,
            format!(
                "Return-Path: <sender@example.com>\nDelivered-To: alice\n\
                 Received: from client.example ([127.0.0.1])\n\tby vm with LMTP\n\
                 \tid gFMvArBHC2tMaAAAg+zDdQ\n\t(envelope-from <sender@example.com>)\n\
                 \tfor <alice>; {date}\n"
            )
        );
        h.tls = Some("TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits)");
        assert!(added_headers(&h).contains(
            "([127.0.0.1])\n\t(using TLSv1.3 with cipher TLS_AES_256_GCM_SHA384 (256/256 bits))\n\
             \tby vm with LMTPS\n"
        ));
        h.tls = None;
        h.hdr_delivery_address = HdrDeliveryAddress::Original;
        h.received = false;
        assert_eq!(added_headers(&h), "Return-Path: <sender@example.com>\n");
        let orcpt = address("orig", Some("example.org"));
        h.orcpt = Some(&orcpt);
        h.received = true;
        let text = added_headers(&h);
        assert!(text.contains("Delivered-To: orig@example.org\n"), "{text}");
        assert!(text.contains("\tfor <orig@example.org>;"), "{text}");
        h.rcpt = None;
        h.from = None;
        h.received = false;
        assert_eq!(added_headers(&h), "Return-Path: <>\n");
        assert!(!valid_helo("bad..domain"));
        assert!(valid_helo("[127.0.0.1]"));
    }
}
