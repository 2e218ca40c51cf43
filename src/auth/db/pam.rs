//! pam: verifies passwords through PAM (`/etc/pam.d/<service>`, default `dovecot`), the
//! conversation answering the password. PAM modules block, fork helpers and are not all
//! thread-safe, so this driver is blocking: it runs in auth worker processes, one request at
//! a time per process; `max_requests=N` (default 100) makes a worker exit after N requests,
//! as Dovecot does against leaky modules.
//!
//! args: `[session=yes] [setcred=yes] [failure_show_msg=yes] [max_requests=N]
//! [cache_key=K] [blocking=yes] [*] [service]`.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::sync::atomic::{AtomicU32, Ordering};

use super::{PassdbDriver, StoredPassword};
use crate::auth::request::{AuthRequest, PassdbResult};
use crate::log::Level;

const PAM_SUCCESS: c_int = 0;
const PAM_USER_UNKNOWN: c_int = 10;
const PAM_AUTH_ERR: c_int = 7;
const PAM_NEW_AUTHTOK_REQD: c_int = 12;
const PAM_ACCT_EXPIRED: c_int = 13;
const PAM_CONV_ERR: c_int = 19;
const PAM_BUF_ERR: c_int = 5;
const PAM_PROMPT_ECHO_OFF: c_int = 1;
const PAM_PROMPT_ECHO_ON: c_int = 2;
const PAM_ERROR_MSG: c_int = 3;
const PAM_TEXT_INFO: c_int = 4;
const PAM_USER: c_int = 2;
const PAM_TTY: c_int = 3;
const PAM_RHOST: c_int = 4;
const PAM_RUSER: c_int = 8;
const PAM_ESTABLISH_CRED: c_int = 0x0002;

#[repr(C)]
struct PamMessage {
    msg_style: c_int,
    msg: *const c_char,
}

#[repr(C)]
struct PamResponse {
    resp: *mut c_char,
    resp_retcode: c_int,
}

type ConvFn =
    extern "C" fn(c_int, *mut *const PamMessage, *mut *mut PamResponse, *mut c_void) -> c_int;

#[repr(C)]
struct PamConv {
    conv: ConvFn,
    appdata_ptr: *mut c_void,
}

#[repr(C)]
struct PamHandle {
    _private: [u8; 0],
}

#[link(name = "pam")]
extern "C" {
    fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    fn pam_end(pamh: *mut PamHandle, status: c_int) -> c_int;
    fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_setcred(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_open_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_close_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_get_item(pamh: *const PamHandle, item_type: c_int, item: *mut *const c_void) -> c_int;
    fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
}

/// What the conversation function answers with, and what it saw.
struct ConvContext {
    user: CString,
    password: CString,
    show_failure_msg: bool,
    failure_msg: Option<String>,
    prompts: Vec<String>,
}

/// Copies `s` into memory PAM may free() (it frees responses with free()).
fn malloc_str(s: &CStr) -> *mut c_char {
    // SAFETY: strdup returns malloc'd memory or NULL.
    unsafe { libc::strdup(s.as_ptr()) }
}

extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata: *mut c_void,
) -> c_int {
    if num_msg <= 0 || msg.is_null() || resp.is_null() || appdata.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: appdata is the ConvContext we passed to pam_start, alive for the call.
    let ctx = unsafe { &mut *(appdata as *mut ConvContext) };
    let count = num_msg as usize;
    // SAFETY: calloc for PAM to free(); checked for NULL.
    let replies =
        unsafe { libc::calloc(count, std::mem::size_of::<PamResponse>()) } as *mut PamResponse;
    if replies.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..count {
        // Linux-PAM passes an array of pointers to messages.
        // SAFETY: PAM guarantees num_msg valid message pointers.
        let m = unsafe { &**msg.add(i) };
        let text = if m.msg.is_null() {
            String::new()
        } else {
            // SAFETY: a NUL-terminated message from PAM.
            unsafe { CStr::from_ptr(m.msg) }
                .to_string_lossy()
                .into_owned()
        };
        ctx.prompts.push(format!(
            "#{}/{} style={} msg={text}",
            i + 1,
            count,
            m.msg_style
        ));
        let answer = match m.msg_style {
            PAM_PROMPT_ECHO_ON => malloc_str(&ctx.user),
            PAM_PROMPT_ECHO_OFF => {
                if ctx.show_failure_msg {
                    ctx.failure_msg = Some(text);
                }
                malloc_str(&ctx.password)
            }
            PAM_ERROR_MSG | PAM_TEXT_INFO => std::ptr::null_mut(),
            _ => {
                for j in 0..i {
                    // SAFETY: earlier answers are ours, malloc'd, NUL-terminated.
                    unsafe {
                        let r = (*replies.add(j)).resp;
                        if !r.is_null() {
                            libc::memset(r.cast(), 0, libc::strlen(r));
                            libc::free(r.cast());
                        }
                    }
                }
                // SAFETY: the array we allocated.
                unsafe { libc::free(replies.cast()) };
                return PAM_CONV_ERR;
            }
        };
        // SAFETY: i < count, inside the calloc'd array.
        unsafe {
            (*replies.add(i)).resp = answer;
            (*replies.add(i)).resp_retcode = PAM_SUCCESS;
        }
    }
    // SAFETY: resp is PAM's out pointer.
    unsafe { *resp = replies };
    PAM_SUCCESS
}

pub struct PamPassdb {
    service: String,
    session: bool,
    setcred: bool,
    failure_show_msg: bool,
    cache_key: Option<String>,
    requests_left: AtomicU32,
}

impl PamPassdb {
    pub fn new(args: &str) -> Result<PamPassdb, String> {
        let mut db = PamPassdb {
            service: "dovecot".to_string(),
            session: false,
            setcred: false,
            failure_show_msg: false,
            cache_key: None,
            requests_left: AtomicU32::new(100),
        };
        let items: Vec<&str> = args.split_whitespace().collect();
        for (i, item) in items.iter().enumerate() {
            match *item {
                "-session" | "session=yes" => db.session = true,
                "setcred=yes" => db.setcred = true,
                "blocking=yes" => {}
                "failure_show_msg=yes" => db.failure_show_msg = true,
                "*" => db.service = "%Ls".to_string(),
                _ => {
                    if let Some(key) = item.strip_prefix("cache_key=") {
                        db.cache_key = Some(key.to_string());
                    } else if let Some(n) = item.strip_prefix("max_requests=") {
                        match n.parse() {
                            Ok(n) => db.requests_left = AtomicU32::new(n),
                            Err(_) => crate::log::emit(
                                Level::Error,
                                format_args!("pam: Invalid requests_left value: {n}"),
                            ),
                        }
                    } else if i + 1 == items.len() {
                        db.service = item.to_string();
                    } else {
                        return Err(format!("pam: Unknown setting: {item}"));
                    }
                }
            }
        }
        Ok(db)
    }

    fn missing_service_file(service: &str) -> Option<String> {
        let path = format!("/etc/pam.d/{service}");
        let missing =
            std::fs::metadata(&path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound);
        (missing && std::path::Path::new("/etc/pam.d").is_dir()).then_some(path)
    }

    fn verify(&self, request: &mut AuthRequest, service: &str, password: &str) -> PassdbResult {
        let (Ok(c_service), Ok(c_user), Ok(c_pass)) = (
            CString::new(service),
            CString::new(request.user()),
            CString::new(password),
        ) else {
            return PassdbResult::PasswordMismatch;
        };
        let mut ctx = ConvContext {
            user: c_user.clone(),
            password: c_pass,
            show_failure_msg: self.failure_show_msg,
            failure_msg: None,
            prompts: Vec::new(),
        };
        let conv = PamConv {
            conv: conversation,
            appdata_ptr: (&mut ctx as *mut ConvContext).cast(),
        };
        let mut pamh: *mut PamHandle = std::ptr::null_mut();
        // SAFETY: valid C strings; conv and ctx outlive the handle (pam_end below).
        let status = unsafe { pam_start(c_service.as_ptr(), c_user.as_ptr(), &conv, &mut pamh) };
        if status != PAM_SUCCESS {
            request.db_log_at(
                Level::Error,
                &format!("pam_start() failed: {}", strerror(pamh, status)),
            );
            return PassdbResult::InternalFailure;
        }
        let rhost = request.remote_ip.map(|ip| ip.to_string());
        let c_rhost = rhost.and_then(|h| CString::new(h).ok());
        let c_tty = c"dovecot";
        // SAFETY: items are copied by PAM; the strings live across the calls.
        unsafe {
            if let Some(h) = &c_rhost {
                pam_set_item(pamh, PAM_RHOST, h.as_ptr().cast());
            }
            pam_set_item(pamh, PAM_RUSER, c_user.as_ptr().cast());
            pam_set_item(pamh, PAM_TTY, c_tty.as_ptr().cast());
        }
        let status = self.try_auth(request, pamh, service);
        for line in &ctx.prompts {
            request.db_log_at(Level::Debug, line);
        }
        // SAFETY: the handle from pam_start, ended once.
        let end = unsafe { pam_end(pamh, status) };
        if end != PAM_SUCCESS {
            request.db_log_at(
                Level::Error,
                &format!("pam_end() failed: {}", strerror(std::ptr::null_mut(), end)),
            );
            return PassdbResult::InternalFailure;
        }
        let result = match status {
            PAM_SUCCESS => PassdbResult::Ok,
            PAM_USER_UNKNOWN => PassdbResult::UserUnknown,
            PAM_NEW_AUTHTOK_REQD | PAM_ACCT_EXPIRED => PassdbResult::PassExpired,
            _ => PassdbResult::PasswordMismatch,
        };
        if result != PassdbResult::Ok {
            if let Some(msg) = ctx.failure_msg {
                request.set_field("reason", &msg, None);
            }
        }
        result
    }

    fn try_auth(&self, request: &mut AuthRequest, pamh: *mut PamHandle, service: &str) -> c_int {
        // SAFETY: a live handle.
        let status = unsafe { pam_authenticate(pamh, 0) };
        if status != PAM_SUCCESS {
            let text = if status == PAM_USER_UNKNOWN {
                "unknown user".to_string()
            } else {
                format!("pam_authenticate() failed: {}", strerror(pamh, status))
            };
            if let Some(path) = Self::missing_service_file(service) {
                request.db_log_at(Level::Error, &format!("{text} ({path} missing?)"));
            } else if status == PAM_AUTH_ERR {
                let mut line = format!("{text} (Password mismatch?)");
                if request.settings.debug_passwords {
                    line.push_str(&format!(
                        " (given password: {})",
                        request.mech_password.as_deref().unwrap_or("")
                    ));
                }
                request.db_log_at(Level::Info, &line);
            } else if status == PAM_USER_UNKNOWN {
                request.log_login_failure("unknown user", false);
            } else {
                request.db_log_at(Level::Info, &text);
            }
            return status;
        }
        if self.setcred {
            // SAFETY: a live handle.
            let status = unsafe { pam_setcred(pamh, PAM_ESTABLISH_CRED) };
            if status != PAM_SUCCESS {
                request.db_log_at(
                    Level::Error,
                    &format!("pam_setcred() failed: {}", strerror(pamh, status)),
                );
                return status;
            }
        }
        // SAFETY: a live handle.
        let status = unsafe { pam_acct_mgmt(pamh, 0) };
        if status != PAM_SUCCESS {
            request.db_log_at(
                Level::Error,
                &format!("pam_acct_mgmt() failed: {}", strerror(pamh, status)),
            );
            return status;
        }
        if self.session {
            // SAFETY: a live handle.
            let status = unsafe { pam_open_session(pamh, 0) };
            if status != PAM_SUCCESS {
                request.db_log_at(
                    Level::Error,
                    &format!("pam_open_session() failed: {}", strerror(pamh, status)),
                );
                return status;
            }
            // SAFETY: a live handle.
            let status = unsafe { pam_close_session(pamh, 0) };
            if status != PAM_SUCCESS {
                request.db_log_at(
                    Level::Error,
                    &format!("pam_close_session() failed: {}", strerror(pamh, status)),
                );
                return status;
            }
        }
        let mut item: *const c_void = std::ptr::null();
        // SAFETY: a live handle; PAM owns the returned item.
        let status = unsafe { pam_get_item(pamh, PAM_USER, &mut item) };
        if status != PAM_SUCCESS || item.is_null() {
            request.db_log_at(
                Level::Error,
                &format!("pam_get_item(PAM_USER) failed: {}", strerror(pamh, status)),
            );
            return if status == PAM_SUCCESS {
                PAM_AUTH_ERR
            } else {
                status
            };
        }
        // SAFETY: PAM_USER is a NUL-terminated string owned by the handle.
        let user = unsafe { CStr::from_ptr(item.cast()) }
            .to_string_lossy()
            .into_owned();
        request.set_field("user", &user, None);
        PAM_SUCCESS
    }
}

fn strerror(pamh: *mut PamHandle, status: c_int) -> String {
    // SAFETY: pam_strerror returns a static string (the handle may be NULL).
    let text = unsafe { pam_strerror(pamh, status) };
    if text.is_null() {
        return format!("error {status}");
    }
    // SAFETY: a NUL-terminated static string.
    unsafe { CStr::from_ptr(text) }
        .to_string_lossy()
        .into_owned()
}

impl PassdbDriver for PamPassdb {
    fn driver(&self) -> &'static str {
        "pam"
    }

    fn blocking(&self) -> bool {
        true
    }

    fn default_scheme(&self) -> &str {
        "PLAIN"
    }

    /// `max_requests` used up: the auth worker exits after answering.
    fn worker_restart_wanted(&self) -> bool {
        self.requests_left.load(Ordering::SeqCst) == 0
    }

    fn cache_key(&self) -> Option<&str> {
        self.cache_key.as_deref()
    }

    fn verify_plain(&self, request: &mut AuthRequest, password: &str) -> PassdbResult {
        let _ = self
            .requests_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        let service = match request.expand(&self.service) {
            Ok(s) => s,
            Err(e) => {
                request.db_log_at(
                    Level::Debug,
                    &format!("Failed to expand service {}: {e}", self.service),
                );
                return PassdbResult::InternalFailure;
            }
        };
        request.db_log_at(Level::Debug, &format!("lookup service={service}"));
        self.verify(request, &service, password)
    }

    fn supports_credentials(&self) -> bool {
        false
    }

    fn lookup_credentials(
        &self,
        _request: &mut AuthRequest,
    ) -> (PassdbResult, Option<StoredPassword>) {
        (PassdbResult::SchemeNotAvailable, None)
    }
}
