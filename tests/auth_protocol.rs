//! The auth service end to end over real unix sockets: the client protocol (as login workers,
//! Postfix and doveadm speak it), the master REQUEST, userdb lookups. Expected lines are the
//! ones Dovecot 2.3.19.1 sends for the same users (captured from the oracle).

mod auth_support;

use std::time::{Duration, Instant};

use auth_support::{b64, Raw, TestAuth, BASIC_CONF, BASIC_USERS};
use cote::auth::client::{AuthClient, AuthParams, AuthReply, MasterClient, PassReply, UserReply};
use cote::auth::request::Secured;

fn handshake(raw: &mut Raw) -> Vec<String> {
    raw.send(&format!("VERSION\t1\t2\nCPID\t{}", std::process::id()));
    let mut lines = Vec::new();
    loop {
        let l = raw.line();
        assert!(!l.is_empty(), "server closed during handshake: {lines:?}");
        lines.push(l.clone());
        if l == "DONE" {
            return lines;
        }
    }
}

const AUTH_PREFIX: &str =
    "service=imap\tlip=127.0.0.1\trip=127.0.0.1\tlport=143\trport=5555\tsecured";

#[test]
fn handshake_and_plain_lines_as_dovecot() {
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let mut raw = Raw::connect(&t.socket("auth-login"));
    let hs = handshake(&mut raw);
    assert_eq!(hs[0], "VERSION\t1\t2");
    assert_eq!(
        &hs[1..6],
        [
            "MECH\tPLAIN\tplaintext",
            "MECH\tLOGIN\tplaintext",
            "MECH\tCRAM-MD5\tdictionary\tactive",
            "MECH\tSCRAM-SHA-1\tmutual-auth",
            "MECH\tSCRAM-SHA-256\tmutual-auth"
        ]
    );
    assert_eq!(hs[6], format!("SPID\t{}", std::process::id()));
    assert!(hs[7].starts_with("CUID\t"));
    let cookie = hs[8].strip_prefix("COOKIE\t").unwrap();
    assert_eq!(cookie.len(), 32);
    assert!(cookie.bytes().all(|b| b.is_ascii_hexdigit()));

    let auth = |raw: &mut Raw, id: u32, resp: &[u8]| {
        raw.send(&format!(
            "AUTH\t{id}\tPLAIN\t{AUTH_PREFIX}\tresp={}",
            b64(resp)
        ));
        raw.line()
    };
    // Hidden fields (the password, userdb_mail) leave Dovecot's trailing TAB.
    assert_eq!(auth(&mut raw, 1, b"\0alice\0secret"), "OK\t1\tuser=alice\t");
    assert_eq!(
        auth(&mut raw, 4, b"\0carol\0pw3"),
        "OK\t4\tuser=carol\tnologin\treason=Go\\\taway"
    );
    assert_eq!(
        auth(&mut raw, 7, b"\0alice*master\0mpw"),
        "OK\t7\tuser=alice\toriginal_user=master\tauth_user=master"
    );
    assert_eq!(auth(&mut raw, 8, b"junk"), "FAIL\t8");
    assert_eq!(
        auth(&mut raw, 9, b"\0Al ice\0x"),
        "FAIL\t9\tuser=Al ice\toriginal_user=Al ice"
    );
    raw.send(&format!(
        "AUTH\t13\tPLAIN\tservice=imap\tresp={}",
        b64(b"\0dave\0zz")
    ));
    assert_eq!(raw.line(), "OK\t13\tuser=dave");
    // allow_nets: 127.0.0.1 is not in 10.0.0.0/8.
    assert_eq!(auth(&mut raw, 5, b"\0bob\0pw2"), "FAIL\t5\tuser=bob");
    // An unknown mechanism is a client bug: the connection is closed.
    raw.send("AUTH\t14\tNOPE\tservice=imap\tresp=eA==");
    assert_eq!(raw.line(), "");
}

#[test]
fn unknown_user_and_wrong_password_look_the_same() {
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let mut raw = Raw::connect(&t.socket("auth-login"));
    handshake(&mut raw);
    let mut answers = Vec::new();
    for (id, resp) in [(2, b"\0alice\0wrong".as_slice()), (3, b"\0nobody\0wrong")] {
        let start = Instant::now();
        raw.send(&format!(
            "AUTH\t{id}\tPLAIN\t{AUTH_PREFIX}\tresp={}",
            b64(resp)
        ));
        let line = raw.line();
        // The failure delay (1 s here) is applied before either answer.
        assert!(start.elapsed() >= Duration::from_secs(1), "{line}");
        answers.push(line);
    }
    assert_eq!(answers[0], "FAIL\t2\tuser=alice");
    assert_eq!(answers[1], "FAIL\t3\tuser=nobody");
}

#[test]
fn login_then_master_request() {
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let mut login = AuthClient::connect(&t.socket("auth-login"), 4242).unwrap();
    let params = AuthParams {
        service: "imap".into(),
        local_ip: Some("127.0.0.1".parse().unwrap()),
        remote_ip: Some("127.0.0.1".parse().unwrap()),
        secured: Secured::Yes,
        ..AuthParams::default()
    };
    let reply = login
        .begin("PLAIN", &params, Some(b"\0alice\0secret"))
        .unwrap();
    let AuthReply::Ok { id, user, .. } = reply else {
        panic!("{reply:?}")
    };
    assert_eq!(user, "alice");
    let reply = login
        .begin("PLAIN", &params, Some(b"\0alice*master\0mpw"))
        .unwrap();
    let AuthReply::Ok { id: master_id, .. } = reply else {
        panic!("{reply:?}")
    };

    let mut master = MasterClient::connect(&t.socket("auth-master")).unwrap();
    // A wrong cookie, a wrong pid: refused.
    let zero = "00".repeat(16);
    assert!(matches!(
        master.request(4242, id, &zero, None).unwrap(),
        UserReply::Fail { .. }
    ));
    assert!(matches!(
        master.request(4243, id, &login.cookie, None).unwrap(),
        UserReply::Fail { .. }
    ));
    let reply = master
        .request(4242, id, &login.cookie, Some(std::process::id()))
        .unwrap();
    assert_eq!(
        reply,
        UserReply::User {
            user: "alice".into(),
            fields: [
                ("mail", "maildir:~/Maildir"),
                ("uid", "1000"),
                ("gid", "1000"),
                ("home", "/home/alice"),
                ("auth_mech", "PLAIN")
            ]
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
        }
    );
    // A login is picked up once.
    assert!(matches!(
        master.request(4242, id, &login.cookie, None).unwrap(),
        UserReply::Fail { .. }
    ));
    // A session pid that isn't the peer's is refused.
    assert!(matches!(
        master
            .request(4242, master_id, &login.cookie, Some(1))
            .unwrap(),
        UserReply::Fail { .. }
    ));

    let reply = login
        .begin("PLAIN", &params, Some(b"\0alice*master\0mpw"))
        .unwrap();
    let AuthReply::Ok { id: master_id, .. } = reply else {
        panic!("{reply:?}")
    };
    let UserReply::User { user, fields } = master
        .request(4242, master_id, &login.cookie, None)
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(user, "alice");
    let keys: Vec<&str> = fields.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "uid",
            "gid",
            "home",
            "mail",
            "master_user",
            "auth_mech",
            "auth_user"
        ]
    );
}

#[test]
fn userdb_socket_lookups() {
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let mut c = MasterClient::connect(&t.socket("auth-userdb")).unwrap();
    let UserReply::User { user, fields } = c.user("alice", "lmtp", &[]).unwrap() else {
        panic!()
    };
    assert_eq!(user, "alice");
    assert_eq!(fields[0], ("uid".to_string(), "1000".to_string()));
    assert_eq!(c.user("nobody", "lmtp", &[]).unwrap(), UserReply::NotFound);
    assert_eq!(c.user("master", "lmtp", &[]).unwrap(), UserReply::NotFound);
    assert_eq!(
        c.pass("carol", "imap", &[]).unwrap(),
        PassReply::Pass {
            fields: vec![
                ("user".into(), "carol".into()),
                ("nologin".into(), String::new()),
                ("reason".into(), "Go\\".into()),
                ("away".into(), String::new())
            ]
        }
    );
    assert_eq!(
        c.list("*", "doveadm").unwrap(),
        ["alice", "bob", "carol", "dave", "master"]
    );
    assert_eq!(c.list("b*", "doveadm").unwrap(), ["bob"]);
    // REQUEST is for auth-master only: the userdb socket closes on it.
    let mut raw = Raw::connect(&t.socket("auth-userdb"));
    raw.send("VERSION\t1\t0");
    assert_eq!(raw.line(), "VERSION\t1\t1");
    raw.line();
    raw.send("REQUEST\t2\t1\t1\t00");
    assert_eq!(raw.line(), "");
}

#[test]
fn postfix_style_client() {
    // Postfix's smtpd (xsasl_dovecot_server.c): VERSION 1 0, CPID, then AUTH with
    // `nologin` and the client's addresses; reads OK/FAIL/CONT lines.
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let mut raw = Raw::connect(&t.socket("auth-client"));
    raw.send(&format!("VERSION\t1\t0\nCPID\t{}", std::process::id()));
    let mut mechs = Vec::new();
    loop {
        let l = raw.line();
        if let Some(m) = l.strip_prefix("MECH\t") {
            mechs.push(m.split('\t').next().unwrap().to_string());
        }
        if l == "DONE" {
            break;
        }
    }
    assert!(mechs.contains(&"PLAIN".to_string()) && mechs.contains(&"LOGIN".to_string()));
    raw.send(&format!(
        "AUTH\t1\tPLAIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.2\tsecured\tresp={}",
        b64(b"\0alice\0secret")
    ));
    assert_eq!(raw.line(), "OK\t1\tuser=alice\t");
    // LOGIN the way Postfix drives it: no initial response (minor 0: an empty resp= is none).
    raw.send("AUTH\t2\tLOGIN\tservice=smtp\tnologin\tlip=127.0.0.1\trip=127.0.0.2\tresp=");
    assert_eq!(raw.line(), format!("CONT\t2\t{}", b64(b"Username:")));
    raw.send(&format!("CONT\t2\t{}", b64(b"alice")));
    assert_eq!(raw.line(), format!("CONT\t2\t{}", b64(b"Password:")));
    raw.send(&format!("CONT\t2\t{}", b64(b"secret")));
    assert_eq!(raw.line(), "OK\t2\tuser=alice\t");
    raw.send("AUTH\t3\tPLAIN\tservice=smtp\tnologin");
    assert_eq!(raw.line(), "CONT\t3\t");
    raw.send("CONT\t3\t*");
    assert_eq!(
        raw.line(),
        "FAIL\t3\tcode=invalid_base64\treason=Invalid base64 data in continued response"
    );
}

#[test]
fn cram_md5_and_scram_against_plain_passwords() {
    let t = TestAuth::start(BASIC_CONF, BASIC_USERS);
    let mut c = AuthClient::connect(&t.socket("auth-client"), 1).unwrap();
    let params = AuthParams {
        service: "imap".into(),
        ..AuthParams::default()
    };
    // CRAM-MD5: the client computes HMAC-MD5(password, challenge).
    let AuthReply::Continue { id, data } = c.begin("CRAM-MD5", &params, None).unwrap() else {
        panic!()
    };
    let challenge = String::from_utf8(data).unwrap();
    assert!(challenge.starts_with('<') && challenge.ends_with('>'));
    // The client side with the hmac crate, not the server's code.
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<md5::Md5>::new_from_slice(b"secret").unwrap();
    mac.update(challenge.as_bytes());
    let digest = mac.finalize().into_bytes();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let reply = c.cont(id, format!("alice {hex}").as_bytes()).unwrap();
    assert!(
        matches!(reply, AuthReply::Ok { ref user, .. } if user == "alice"),
        "{reply:?}"
    );

    // SCRAM-SHA-256, a full client side.
    use cote::auth::scheme::ScramHash;
    let hash = ScramHash::Sha256;
    let cnonce = "rOprNGfwEbeRWgbNEkqO";
    let first_bare = format!("n=alice,r={cnonce}");
    let AuthReply::Continue { id, data } = c
        .begin(
            "SCRAM-SHA-256",
            &params,
            Some(format!("n,,{first_bare}").as_bytes()),
        )
        .unwrap()
    else {
        panic!()
    };
    let server_first = String::from_utf8(data).unwrap();
    let attrs: Vec<&str> = server_first.split(',').collect();
    let nonce = attrs[0].strip_prefix("r=").unwrap();
    assert!(nonce.starts_with(cnonce) && nonce.len() == cnonce.len() + 64);
    let salt = cote::auth::base64::decode(attrs[1].strip_prefix("s=").unwrap()).unwrap();
    let iterations: u32 = attrs[2].strip_prefix("i=").unwrap().parse().unwrap();
    let salted = hash.salted_password(b"secret", &salt, iterations);
    let client_key = hash.hmac(&salted, b"Client Key");
    let stored_key = hash.hash(&client_key);
    let without_proof = format!("c=biws,r={nonce}");
    let auth_message = format!("{first_bare},{server_first},{without_proof}");
    let signature = hash.hmac(&stored_key, auth_message.as_bytes());
    let proof: Vec<u8> = client_key
        .iter()
        .zip(&signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let reply = c
        .cont(id, format!("{without_proof},p={}", b64(&proof)).as_bytes())
        .unwrap();
    // Without final-resp-ok the server's signature comes as one more challenge.
    let AuthReply::Continue { id, data } = reply else {
        panic!("{reply:?}")
    };
    let server_key = hash.hmac(&salted, b"Server Key");
    let expected = hash.hmac(&server_key, auth_message.as_bytes());
    assert_eq!(
        String::from_utf8(data).unwrap(),
        format!("v={}", b64(&expected))
    );
    let reply = c.cont(id, b"").unwrap();
    assert!(
        matches!(reply, AuthReply::Ok { ref user, .. } if user == "alice"),
        "{reply:?}"
    );

    // A wrong proof fails (after the failure delay).
    let AuthReply::Continue { id, .. } = c
        .begin("SCRAM-SHA-1", &params, Some(b"n,,n=alice,r=abc"))
        .unwrap()
    else {
        panic!()
    };
    let reply = c.cont(id, b"c=biws,r=wrong,p=AAAA").unwrap();
    assert!(matches!(reply, AuthReply::Fail { .. }), "{reply:?}");
}
