//! Test certificates: a self-signed localhost certificate and key made fresh for each server,
//! so no test depends on ssl-cert's snakeoil files being installed.

#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use openssl::asn1::Asn1Time;
use openssl::bn::BigNum;
use openssl::error::ErrorStack;
use openssl::hash::MessageDigest;
use openssl::pkey::{PKey, Private};
use openssl::rsa::Rsa;
use openssl::x509::{X509NameBuilder, X509};

/// A certificate for `cn` signed by `issuer` (key and name), or self-signed.
pub fn make_cert(
    cn: &str,
    issuer: Option<(&PKey<Private>, &X509)>,
) -> Result<(PKey<Private>, X509), ErrorStack> {
    let key = PKey::from_rsa(Rsa::generate(2048)?)?;
    let mut name = X509NameBuilder::new()?;
    name.append_entry_by_text("CN", cn)?;
    let name = name.build();
    let mut cert = X509::builder()?;
    cert.set_version(2)?;
    let serial = BigNum::from_u32(rand_serial())?.to_asn1_integer()?;
    cert.set_serial_number(&serial)?;
    cert.set_subject_name(&name)?;
    match issuer {
        Some((_, ca)) => cert.set_issuer_name(ca.subject_name())?,
        None => cert.set_issuer_name(&name)?,
    }
    cert.set_pubkey(&key)?;
    let not_before = Asn1Time::days_from_now(0)?;
    let not_after = Asn1Time::days_from_now(3650)?;
    cert.set_not_before(&not_before)?;
    cert.set_not_after(&not_after)?;
    if issuer.is_none() {
        let ca = openssl::x509::extension::BasicConstraints::new()
            .critical()
            .ca()
            .build()?;
        cert.append_extension(ca)?;
    }
    let signer = issuer.map_or(&key, |(k, _)| k);
    cert.sign(signer, MessageDigest::sha256())?;
    Ok((key, cert.build()))
}

fn rand_serial() -> u32 {
    let mut b = [0u8; 4];
    openssl::rand::rand_bytes(&mut b).expect("random bytes");
    u32::from_ne_bytes(b) & 0x7fff_ffff
}

fn write(path: &Path, data: &[u8], mode: u32) {
    fs::write(path, data).expect("write test certificate");
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).expect("chmod");
}

/// `dir/cert.pem` (0644) and `dir/key.pem` (0600, as a real key is): self-signed, localhost.
pub fn write_test_cert(dir: &Path) -> Result<(), ErrorStack> {
    let (key, cert) = make_cert("localhost", None)?;
    write(&dir.join("cert.pem"), &cert.to_pem()?, 0o644);
    write(
        &dir.join("key.pem"),
        &key.private_key_to_pem_pkcs8()?,
        0o600,
    );
    Ok(())
}
