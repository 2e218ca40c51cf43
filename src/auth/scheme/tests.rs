use super::*;

/// Stored passwords for "secret" made by Debian's `doveadm pw -s X -p secret -u bob@realm`.
const DOVEADM_SECRET: &[&str] = &[
    "{PLAIN}secret",
    "{MD5}$1$p0/9cnys$X40v/5sgVT1JXlybGbc2U0",
    "{SMD5}cnxQHAFV2rDCeWaEVzm3opR2daA=",
    "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ=",
    "{SSHA}MAV6W6dqTf7nmfcTGWbut+q8eUC5Xsn+",
    "{SHA256}K7gNU3sdo+OL0wNhqoVWhr3g6s1xYv72ol/pe/Unols=",
    "{CRAM-MD5}cd3ba7deaad6e5ca23448ba42e379747a9e0f7f1fbc00c8a81bbaac395731b56",
    "{DIGEST-MD5}908ff320725b0d3989b772c8bcf6b7e2",
    "{SCRAM-SHA-1}4096,/cAa1nC+w+BDtqxTDCVs2Q==,xGJgCVy79tugVfxrS6g1khx2E/A=,UJNZMQk7jX0lrMIVT9uiPaUcPc4=",
    "{SCRAM-SHA-256}4096,wVbjtqMpSvuhpY0M926EEw==,+mNzGY0qcy5XBqvIRNOPsOfrf8vP4UwPbguFqOcCNMw=,FKab0RZAl+rxN7VVxeuWVwpekiSkLpzroukNpCVy9ac=",
    "{PBKDF2}$1$YYK7FQBom0HUFBJj$5000$c969dd89fb03c37e6e83fbbb5e541330f15d546a",
    "{OTP}sha1 1024 0a79b4d6bb85ef41 fe7701297b6eef46",
    "{BLF-CRYPT}$2y$05$7lwsQ5K7hcsHu9Y4VIoqKe.SsHddf62Y.PtWn0c8x7ZDsDvopH64.",
    "{CRYPT}$2y$05$Cf1qDumR1sFw/h.3rZw/6es55x9AcNdNmpA1xKXqLqWxpm3Dd9zf.",
    "{DES-CRYPT}ihZ6wSsztWhyQ",
    "{SHA512-CRYPT}$6$g.CTl3QXZ02bK/bU$MGlW2ph5c5rGRLEWdmcdQdqEF6lKeYhw/HaTJ7MVJVaU2zeslZ.xjuP1UdR5cgdpQOlTA5raZV1u8RfNtTJ8r0",
    "{SHA256-CRYPT}$5$809d/M9NjeJ1.X1p$7YpPwQ2aY/Hf8qbPTkpxMp/z6jljtVtEDDpWp7zE419",
    "{MD5-CRYPT}$1$nOIxzSnF$JCciQ8gUIIhhitralj7K4.",
    "{PLAIN-MD4}67d3dafef63ff00603aeef3769cfbf0d",
    "{PLAIN-MD5}5ebe2294ecd0e0f08eab7690d2a6ee69",
    "{LDAP-MD5}Xr4ilOzQ4PCOq3aQ0qbuaQ==",
    "{SHA.HEX}e5e9fa1ba31ecd1ae84f75caaa474f3a663f05f4",
    "{SSHA512.B64}QvSLRTfCpsCDA6xAiGpskX0lWxEnwqJQ+OGhF/wzQL2lOOz6zxkMEXf0pgryEP5MMz0cfyWVjAlw+V8b6A+QNsAn6uQ=",
    "{PLAIN.BASE64}c2VjcmV0",
    "{ARGON2ID}$argon2id$v=19$m=65536,t=3,p=1$0H5VTWsHjZORED8GOiEZdg$3WQkxZTVq8G3zzosV99a4t3qb9I4n5Vm0raC00Mzvjw",
];

#[test]
fn doveadm_hashes_verify() {
    for stored in DOVEADM_SECRET {
        assert_eq!(
            verify(stored, b"secret", Some("bob@realm")),
            Ok(true),
            "{stored}"
        );
        assert_eq!(
            verify(stored, b"secreT", Some("bob@realm")),
            Ok(false),
            "{stored}"
        );
    }
}

#[test]
fn every_scheme_round_trips() {
    for scheme in Scheme::all() {
        // Keep the memory-hard and slow ones cheap.
        let rounds = match scheme.name() {
            "BLF-CRYPT" | "CRYPT" => 4,
            "PBKDF2" => 100,
            "SHA256-CRYPT" | "SHA512-CRYPT" => 1000,
            _ => 0,
        };
        if scheme.name().starts_with("ARGON2") {
            continue; // covered by argon2_round_trip with a small cost
        }
        let stored = generate(scheme.name(), b"p4ss word", Some("bob@realm"), rounds).unwrap();
        assert!(
            stored.starts_with(&format!("{{{}}}", scheme.name())),
            "{stored}"
        );
        assert_eq!(
            verify(&stored, b"p4ss word", Some("bob@realm")),
            Ok(true),
            "{stored}"
        );
        assert_eq!(
            verify(&stored, b"P4ss word", Some("bob@realm")),
            Ok(false),
            "{stored}"
        );
        for suffix in [".HEX", ".B64"] {
            let name = format!("{}{suffix}", scheme.name());
            let stored = generate(&name, b"pw", Some("bob"), rounds).unwrap();
            assert_eq!(verify(&stored, b"pw", Some("bob")), Ok(true), "{stored}");
        }
    }
}

#[test]
fn argon2_round_trip() {
    // The presets cost 32 and 64 MiB; one round trip each.
    for name in ["ARGON2I", "ARGON2ID"] {
        let stored = generate(name, b"pw", None, 0).unwrap();
        assert_eq!(verify(&stored, b"pw", None), Ok(true), "{stored}");
        assert_eq!(verify(&stored, b"pW", None), Ok(false), "{stored}");
    }
}

#[test]
fn stored_password_parsing() {
    let p = StoredPassword::parse(b"{SHA}abc", DEFAULT_SCHEME);
    assert_eq!((p.scheme_name(), p.data()), ("SHA", &b"abc"[..]));
    // No prefix: the default scheme.
    let p = StoredPassword::parse(b"$6$salt$hash", DEFAULT_SCHEME);
    assert_eq!((p.scheme_name(), p.data()), ("CRYPT", &b"$6$salt$hash"[..]));
    let p = StoredPassword::parse(b"{SHA", "PLAIN");
    assert_eq!((p.scheme_name(), p.data()), ("PLAIN", &b"{SHA"[..]));
    // A bare $1$ hash is MD5-CRYPT, cut at a further '$'.
    let p = StoredPassword::parse(b"$1$salt$hash$junk", DEFAULT_SCHEME);
    assert_eq!(
        (p.scheme_name(), p.data()),
        ("MD5-CRYPT", &b"$1$salt$hash"[..])
    );
    let p = StoredPassword::parse(b"$1$salt$hash", DEFAULT_SCHEME);
    assert_eq!(p.data(), b"$1$salt$hash");
    let p = StoredPassword::parse(b"$1$nosalt", DEFAULT_SCHEME);
    assert_eq!(p.scheme_name(), "CRYPT");
    assert!(StoredPassword::parse_prefixed(b"secret").is_none());
    let p = StoredPassword::parse_prefixed(b"{}x").unwrap();
    assert_eq!(p.scheme_name(), "");
    assert_eq!(
        p.verify(b"x", None),
        Err(SchemeError::UnknownScheme(String::new()))
    );
}

#[test]
fn dovecot_error_reasons() {
    let reason = |stored: &str| {
        verify(stored, b"secret", None)
            .unwrap_err()
            .reason()
            .into_owned()
    };
    assert_eq!(reason("{FOO}x"), "Unknown scheme");
    assert_eq!(reason("{PLAIN.FOO}x"), "Unknown scheme");
    assert_eq!(reason("{SHA}!!!"), "Input isn't valid base64 encoded data");
    assert_eq!(
        reason("{SHA}abcd"),
        "Input length isn't valid (3 instead of 20)"
    );
    assert_eq!(reason("{SHA.HEX}zz"), "Input isn't valid HEX encoded data");
    assert_eq!(reason("{SSHA}abcd"), "SSHA password is too short");
    assert_eq!(
        reason("{MD5}zzz"),
        "Not a valid MD5-CRYPT or PLAIN-MD5 password"
    );
    assert_eq!(
        reason("{PLAIN-TRUNC}secret"),
        "PLAIN-TRUNC missing length: prefix"
    );
    assert_eq!(reason("{PBKDF2}x"), "Invalid PBKDF2 passdb entry prefix");
    assert_eq!(
        reason("{BLF-CRYPT}$1$x"),
        "Password is not blowfish password"
    );
    assert_eq!(reason("{OTP}x"), "Invalid OTP data in passdb");
    assert!(matches!(
        verify(
            "{DIGEST-MD5}908ff320725b0d3989b772c8bcf6b7e2",
            b"secret",
            None
        ),
        Err(SchemeError::UserRequired { .. })
    ));
}

#[test]
fn empty_crypt_never_matches() {
    assert_eq!(verify("", b"", None), Ok(false));
    assert_eq!(verify("{CRYPT}", b"", None), Ok(false));
    assert_eq!(verify("{BLF-CRYPT}", b"", None), Ok(false));
    // Without a prefix, data is CRYPT: a DES hash verifies.
    assert_eq!(verify("JBOZ0DgmtucwE", b"08/15!test~4711", None), Ok(true));
}

#[test]
fn nul_bytes_never_match() {
    assert_eq!(verify("{PLAIN.HEX}610062", b"a\0b", None), Ok(false));
    assert_eq!(
        generate("SHA", b"a\0b", None, 0),
        Err(SchemeError::NulInPassword)
    );
}

#[test]
fn generation_errors() {
    assert_eq!(
        generate("NOPE", b"x", None, 0),
        Err(SchemeError::UnknownScheme("NOPE".into()))
    );
    assert_eq!(
        generate("digest-md5", b"x", None, 0),
        Err(SchemeError::UserRequired {
            scheme: "DIGEST-MD5".into()
        })
    );
    assert!(matches!(
        generate("PLAIN", b"\xff", None, 0),
        Err(SchemeError::NotText { .. })
    ));
    assert_eq!(
        generate("plain.b64", b"\xff", None, 0).unwrap(),
        "{PLAIN.B64}/w=="
    );
    assert_eq!(
        generate("sha", b"secret", None, 0).unwrap(),
        "{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ="
    );
}

#[test]
fn list_matches_doveadm() {
    let listed: Vec<_> = scheme_names().collect();
    assert_eq!(
        listed.join(" "),
        "SHA1 SSHA512 SCRAM-SHA-256 BLF-CRYPT PLAIN HMAC-MD5 OTP SHA512 SHA DES-CRYPT CRYPT SSHA \
         MD5-CRYPT PLAIN-MD4 PLAIN-MD5 SCRAM-SHA-1 SHA512-CRYPT CLEAR CLEARTEXT ARGON2I ARGON2ID \
         SSHA256 MD5 PBKDF2 SHA256 CRAM-MD5 PLAIN-TRUNC SHA256-CRYPT SMD5 DIGEST-MD5 LDAP-MD5"
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_stored_passwords_never_panic(
        scheme in proptest::sample::select(
            scheme_names().chain(["", "SHA.HEX", "PLAIN.B64", "X"]).collect::<Vec<_>>()
        ),
        data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..80),
        bare in proptest::prelude::any::<bool>(),
        password in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..20),
    ) {
        let mut stored = if bare { Vec::new() } else { format!("{{{scheme}}}").into_bytes() };
        stored.extend_from_slice(&data);
        let _ = verify(&stored, &password, Some("user@realm"));
        let parsed = StoredPassword::parse(&stored, DEFAULT_SCHEME);
        let _ = credentials(&parsed, "CRAM-MD5", Some("u"));
        let _ = credentials(&parsed, "SCRAM-SHA-1", None);
    }

    #[test]
    fn arbitrary_text_never_panics(stored in "\\PC*", password in "\\PC{0,12}") {
        let _ = verify(&stored, password.as_bytes(), None);
    }
}
