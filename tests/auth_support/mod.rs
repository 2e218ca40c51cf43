//! Shared test setup: a config file in a temp dir, and an auth service serving its sockets
//! from threads of the test process.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use cote::auth::engine::AuthSet;
use cote::auth::server::{AuthService, SocketKind};
use cote::config::Config;

pub struct TestAuth {
    pub dir: tempfile::TempDir,
    pub service: Arc<AuthService>,
}

impl TestAuth {
    /// Writes `users` to `dir/users` and `conf` (with `@DIR@` replaced) to `dir/dovecot.conf`,
    /// then serves auth-login, auth-client, auth-master and auth-userdb under `dir`.
    pub fn start(conf: &str, users: &str) -> TestAuth {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users"), users).unwrap();
        let text = conf.replace("@DIR@", dir.path().to_str().unwrap());
        let path = dir.path().join("dovecot.conf");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path).unwrap();
        let service = Arc::new(AuthService::new(AuthSet::new(config, None)));
        for name in ["auth-login", "auth-client", "auth-master", "auth-userdb"] {
            let socket = dir.path().join(name);
            let listener = UnixListener::bind(&socket).unwrap();
            let service = Arc::clone(&service);
            std::thread::spawn(move || {
                for stream in listener.incoming().flatten() {
                    let service = Arc::clone(&service);
                    let socket = socket.clone();
                    std::thread::spawn(move || {
                        service.serve(stream, SocketKind::of(&socket), &socket)
                    });
                }
            });
        }
        TestAuth { dir, service }
    }

    pub fn socket(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// A raw line-level connection, for checking exact protocol bytes.
pub struct Raw {
    pub reader: BufReader<UnixStream>,
    pub writer: UnixStream,
}

impl Raw {
    pub fn connect(path: &Path) -> Raw {
        let stream = UnixStream::connect(path).unwrap();
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(30)))
            .unwrap();
        Raw {
            writer: stream.try_clone().unwrap(),
            reader: BufReader::new(stream),
        }
    }

    pub fn send(&mut self, line: &str) {
        self.writer
            .write_all(format!("{line}\n").as_bytes())
            .unwrap();
    }

    /// The next line without its LF; "" when the server closed the connection.
    pub fn line(&mut self) -> String {
        let mut s = String::new();
        self.reader.read_line(&mut s).unwrap();
        s.trim_end_matches('\n').to_string()
    }
}

pub fn b64(data: &[u8]) -> String {
    cote::auth::base64::encode(data)
}

/// A config with a passwd-file passdb and userdb, a 1 s failure delay.
pub const BASIC_CONF: &str = "\
base_dir = @DIR@
auth_failure_delay = 1 secs
auth_mechanisms = plain login cram-md5 scram-sha-1 scram-sha-256
auth_master_user_separator = *
passdb {
  driver = passwd-file
  args = @DIR@/users
}
passdb {
  driver = passwd-file
  master = yes
  args = @DIR@/users
}
userdb {
  driver = passwd-file
  args = @DIR@/users
}
";

pub const BASIC_USERS: &str = "\
alice:{PLAIN}secret:1000:1000::/home/alice::userdb_mail=maildir:~/Maildir
bob:{PLAIN}pw2:1000:1000::/home/bob::allow_nets=10.0.0.0/8
carol:{PLAIN}pw3:1000:1000::/home/carol::nologin reason=Go\\ away
dave::1000:1000::/home/dave::nopassword
master:{PLAIN}mpw
";
