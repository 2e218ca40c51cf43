//! The system's user databases through NSS: getpwnam_r (passwd), getgrnam_r (group names in
//! `gid=`), getspnam_r (shadow). These block (NSS may ask LDAP or NIS), which is why the
//! passwd and shadow drivers run in auth worker processes.

use std::ffi::{CStr, CString};
use std::io;

/// A passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub passwd: String,
    pub uid: u32,
    pub gid: u32,
    pub dir: String,
    pub shell: String,
}

/// `getpwnam_r`: Ok(None) when the user does not exist.
pub fn getpwnam(name: &str) -> io::Result<Option<PasswdEntry>> {
    if name.contains('\0') {
        return Ok(None);
    }
    match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => Ok(Some(PasswdEntry {
            name: u.name,
            passwd: u.passwd.to_string_lossy().into_owned(),
            uid: u.uid.as_raw(),
            gid: u.gid.as_raw(),
            dir: u.dir.to_string_lossy().into_owned(),
            shell: u.shell.to_string_lossy().into_owned(),
        })),
        Ok(None) => Ok(None),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// `getgrnam_r`: the group's gid, Ok(None) when it does not exist.
pub fn getgrnam(name: &str) -> io::Result<Option<u32>> {
    if name.contains('\0') {
        return Ok(None);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(g) => Ok(g.map(|g| g.gid.as_raw())),
        Err(e) => Err(io::Error::from(e)),
    }
}

/// A shadow entry: the name as stored and the password hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    pub name: String,
    pub passwd: String,
}

/// `getspnam_r`: Ok(None) when the user has no shadow entry.
pub fn getspnam(name: &str) -> io::Result<Option<ShadowEntry>> {
    let Ok(cname) = CString::new(name) else {
        return Ok(None);
    };
    let mut buf_len = 1024usize;
    loop {
        let mut buf = vec![0 as libc::c_char; buf_len];
        // SAFETY: spwd is plain data; zeroed is a valid initial value.
        let mut entry: libc::spwd = unsafe { std::mem::zeroed() };
        let mut result: *mut libc::spwd = std::ptr::null_mut();
        // SAFETY: all pointers are valid for the call; buf outlives the use of `entry`.
        let ret = unsafe {
            libc::getspnam_r(
                cname.as_ptr(),
                &mut entry,
                buf.as_mut_ptr(),
                buf.len(),
                &mut result,
            )
        };
        if ret == libc::ERANGE && buf_len < 1 << 20 {
            buf_len *= 4;
            continue;
        }
        if ret != 0 {
            // ENOENT is how glibc says "no such entry" (shadow files).
            return if ret == libc::ENOENT {
                Ok(None)
            } else {
                Err(io::Error::from_raw_os_error(ret))
            };
        }
        if result.is_null() {
            return Ok(None);
        }
        // SAFETY: on success the entry's strings point into buf, NUL-terminated.
        let (name, passwd) = unsafe {
            (
                CStr::from_ptr(entry.sp_namp).to_string_lossy().into_owned(),
                CStr::from_ptr(entry.sp_pwdp).to_string_lossy().into_owned(),
            )
        };
        return Ok(Some(ShadowEntry { name, passwd }));
    }
}

/// Dovecot's IS_VALID_PASSWD: an empty, `*` or `!` password field means "no login".
pub fn is_valid_passwd(passwd: &str) -> bool {
    !passwd.is_empty() && !passwd.starts_with('*') && !passwd.starts_with('!')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_exists_and_nobody_does_not() {
        let root = getpwnam("root").unwrap().unwrap();
        assert_eq!((root.uid, root.gid), (0, 0));
        assert!(getpwnam("cote-no-such-user-xyz").unwrap().is_none());
        assert_eq!(getgrnam("root").unwrap(), Some(0));
        assert!(!is_valid_passwd("!") && !is_valid_passwd("*LK*") && is_valid_passwd("$6$x"));
    }
}
