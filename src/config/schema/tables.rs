//! The setting tables. (Seed: a handful of settings; the full Dovecot 2.3 list is being filled in.)

use super::{SectionDefaults, SectionInfo, SettingDef, SettingType, Support};

const fn def(key: &'static str, ty: SettingType, default: &'static str) -> SettingDef {
    SettingDef {
        key,
        ty,
        default,
        hidden: false,
        support: Support::NotImplemented,
        null_default: false,
        auth: false,
    }
}

static ROOT: SectionInfo = SectionInfo {
    kind: "",
    name_key: None,
    settings: &[
        def("base_dir", SettingType::Str, "/run/dovecot"),
        def("protocols", SettingType::Str, ""),
        def("listen", SettingType::Str, "*, ::"),
        def("ssl", SettingType::Enum(&["yes", "no", "required"]), "yes"),
        def("mail_fsync", SettingType::Enum(&["optimized", "always", "never"]), "optimized"),
        def("mmap_disable", SettingType::Bool, "no"),
        def("imap_max_line_length", SettingType::Size, "64 k"),
        def("default_idle_kill", SettingType::Time, "1 mins"),
        def("mail_plugins", SettingType::Str, ""),
        def("plugin", SettingType::StrList, ""),
    ],
};

/// The top level of dovecot.conf.
pub fn root() -> &'static SectionInfo {
    &ROOT
}

/// The settings of a section kind (`service`, `inet_listener`, `namespace`, ...).
pub fn section(kind: &str) -> Option<&'static SectionInfo> {
    ROOT.settings.iter().find_map(|s| match s.ty {
        SettingType::Sections { section, .. } if section.kind == kind => Some(section),
        _ => None,
    })
}

/// Sections that exist without being configured (Dovecot's built-in services).
pub fn builtin_sections() -> &'static [SectionDefaults] {
    &[]
}

/// The new name of a setting renamed during 2.3, if `old` is such a name.
pub fn renamed(_old: &str) -> Option<&'static str> {
    None
}
