#!/usr/bin/env python3
"""Generate cote's setting tables from Dovecot 2.3.19.1.

Two sources, each used for what it is authoritative on:

* Dovecot's source (`*-settings.c` at tag 2.3.19.1, read from a git mirror): the type of every
  setting (`DEF(TYPE, name)`, `SET_*`), the hidden flag (`*_HIDDEN`), aliases (`SET_ALIAS`),
  which sections nest where (`DEFLIST`, `DEFLIST_UNIQUE`, `SET_STRLIST`), the key a section's
  name fills (`type_offset`), and the words of every enum (the `"a:b:c"` default string).
* Debian 12's `doveconf -a -s` (snapshots under t/config/): which settings the Debian build
  knows, their defaults exactly as printed, and the built-in services with their listeners.

Usage:
  contrib/gen-settings-tables.py snapshot   # rerun the oracle, rewrite t/config/doveconf-*.txt
  contrib/gen-settings-tables.py generate   # rewrite src/config/schema/tables/{root,sections,services}.rs

Both run from the repository root. `snapshot` needs the extracted Debian packages under
/opt/dovecot; `generate` needs the Dovecot git mirror (DOVECOT_GIT, default
/work/.mirror/dovecot+core/repo). Which settings cote implements is not generated: it lives
in src/config/schema/tables/support.rs.
"""

import os
import re
import subprocess
import sys

TAG = "2.3.19.1"
DOVECOT_GIT = os.environ.get("DOVECOT_GIT", "/work/.mirror/dovecot+core/repo")
ORACLE_ROOT = os.environ.get("DOVECOT_ORACLE", "/opt/dovecot")

SNAPSHOT_EMPTY = "t/config/doveconf-a-s.txt"
# cote's own settings, which Dovecot does not have: section kind -> {key: (type, default)}.
# Their value checks and documentation are in src/config/schema/tables/support.rs (COTE_OWN).
COTE_OWN = {"": {"maildir_info_separator": ("Str", ":")}}
SNAPSHOT_EMPTY_NOT_HIDDEN = "t/config/doveconf-a.txt"
SNAPSHOT_SECTIONS = "t/config/doveconf-sections-a-s.txt"
CONF_EMPTY = "t/config/doveconf-empty.conf"
CONF_SECTIONS = "t/config/doveconf-sections.conf"
OUT_DIR = "src/config/schema/tables"

# C type name -> SettingType variant.
RUST_TYPE = {
    "BOOL": "Bool",
    "UINT": "Uint",
    "UINT_OCT": "UintOct",
    "TIME": "Time",
    "TIME_MSECS": "TimeMsecs",
    "SIZE": "Size",
    "IN_PORT": "InPort",
    "STR": "Str",
    "STR_VARS": "StrVars",
    "ENUM": "Enum",
}


def die(msg):
    sys.stderr.write("gen-settings-tables: " + msg + "\n")
    sys.exit(1)


# ---------------------------------------------------------------------------------------------
# oracle snapshots


def run_doveconf(conf, *flags):
    env = dict(os.environ, LD_LIBRARY_PATH=ORACLE_ROOT + "/usr/lib/dovecot")
    proc = subprocess.run(
        [ORACLE_ROOT + "/usr/bin/doveconf", "-c", conf] + list(flags),
        env=env, capture_output=True, text=True)
    # The sections probe leaves required values (passdb driver, metric filter) empty so every
    # default shows; doveconf prints the whole configuration and then fails its checks (89).
    if proc.returncode not in (0, 89):
        die("doveconf -c %s failed (%d): %s" % (conf, proc.returncode, proc.stderr))
    # The OS and hostname lines describe the machine, not Dovecot.
    lines = [l for l in proc.stdout.splitlines(keepends=True)
             if not l.startswith(("# OS:", "# Hostname:"))]
    return "".join(lines)


def snapshot():
    with open(SNAPSHOT_EMPTY, "w") as f:
        f.write(run_doveconf(CONF_EMPTY, "-a", "-s"))
    # Without -s, to check the hidden flags.
    with open(SNAPSHOT_EMPTY_NOT_HIDDEN, "w") as f:
        f.write(run_doveconf(CONF_EMPTY, "-a"))
    with open(SNAPSHOT_SECTIONS, "w") as f:
        f.write(run_doveconf(CONF_SECTIONS, "-a", "-s"))


class Section:
    """One `kind name {` block of doveconf output."""

    def __init__(self, kind, name):
        self.kind = kind
        self.name = name
        self.values = []  # (key, value) in output order
        self.children = []


def unquote(value):
    """doveconf quotes values containing '#' or with leading/trailing blanks, escaping \\ " '."""
    if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def parse_dump(path):
    root = Section("", None)
    stack = [root]
    with open(path) as f:
        for line in f:
            line = line.rstrip("\n")
            if line.startswith("#"):
                continue
            text = line.strip()
            if text == "}":
                stack.pop()
            elif text.endswith("{") and " = " not in text:
                words = text[:-1].split()
                sec = Section(words[0], words[1] if len(words) > 1 else None)
                stack[-1].children.append(sec)
                stack.append(sec)
            else:
                key, sep, value = text.partition(" =")
                if not sep:
                    die("%s: cannot parse line %r" % (path, line))
                stack[-1].values.append((key, unquote(value[1:] if value.startswith(" ")
                                                      else value)))
    return root


# ---------------------------------------------------------------------------------------------
# Dovecot source


def git(*args):
    return subprocess.run(["git", "-C", DOVECOT_GIT] + list(args), check=True,
                          capture_output=True, text=True).stdout


def strip_comments(text):
    return re.sub(r"/\*.*?\*/", "", text, flags=re.S)


def setting_files():
    names = git("ls-tree", "-r", "--name-only", TAG, "src").split()
    return [n for n in names
            if n.endswith("settings.c") and "/test-" not in n and "all-settings" not in n
            and not re.search(r"dict-(sql|ldap)-settings|lib-settings/", n)]


def string_macros():
    """#define NAME "literal" from all headers, to resolve enum default strings."""
    macros = {}
    for line in git("grep", "-h", "-E", r'^#define [A-Z_0-9]+ +"', TAG, "--", "src").splitlines():
        m = re.match(r'#define ([A-Z_0-9]+) +"([^"]*)"', line)
        if m:
            macros[m.group(1)] = m.group(2)
    return macros


class Define:
    def __init__(self, key, ctype, hidden, field=None, list_info=None, unique=False):
        self.key = key
        self.ctype = ctype  # BOOL, ..., DEFLIST, STRLIST
        self.hidden = hidden
        self.field = field
        self.list_info = list_info
        self.unique = unique
        self.aliases = []


class ParserInfo:
    def __init__(self, name, defines, defaults, name_field, module):
        self.name = name
        self.defines = defines  # name of the setting_define array
        self.defaults = defaults  # name of the defaults struct
        self.name_field = name_field
        self.module = module


ENTRY_RE = re.compile(
    r"(?P<def>\bDEF(?P<noprefix>_NOPREFIX)?\(\s*(?P<type>\w+)\s*,\s*(?P<field>\w+)\s*\))"
    r"|(?P<list>\bDEFLIST(?P<unique>_UNIQUE)?\(\s*\w+\s*,\s*\"(?P<lkey>[^\"]+)\"\s*,"
    r"\s*&(?P<linfo>\w+)\s*\))"
    r"|(?P<raw>\{\s*\.type\s*=\s*SET_(?P<rtype>\w+)\s*,\s*\.key\s*=\s*\"(?P<rkey>[^\"]+)\""
    r"(?:\s*,\s*\.offset\s*=\s*offsetof\(\s*struct\s+\w+\s*,\s*(?P<rfield>\w+)\s*\))?\s*\})")


def parse_source():
    defines = {}  # array name -> [Define]
    infos = {}  # parser info name -> ParserInfo
    structs = {}  # defaults struct name -> body text
    for path in setting_files():
        text = strip_comments(git("show", "%s:%s" % (TAG, path)))
        # The key prefix DEF() adds changes with each #define DEF.
        prefix = ""
        pos = 0
        for m in re.finditer(
                r"#define DEF\(type, name\)\s*\\\s*SETTING_DEFINE_STRUCT_##type\((\"\w+\"\s*)?#name"
                r"|setting_define (\w+)\[\] = \{(.*?)\n\};", text, re.S):
            if m.group(0).startswith("#define"):
                prefix = m.group(1).strip().strip('"') if m.group(1) else ""
                continue
            entries = []
            for e in ENTRY_RE.finditer(m.group(3)):
                if e.group("def"):
                    ctype = e.group("type")
                    hidden = ctype.endswith("_HIDDEN")
                    ctype = ctype[:-len("_HIDDEN")] if hidden else ctype
                    key = (("" if e.group("noprefix") else prefix) + e.group("field"))
                    entries.append(Define(key, ctype, hidden, field=e.group("field")))
                elif e.group("list"):
                    entries.append(Define(e.group("lkey"), "DEFLIST", False,
                                          list_info=e.group("linfo"),
                                          unique=bool(e.group("unique"))))
                elif e.group("rtype") == "ALIAS":
                    entries[-1].aliases.append(e.group("rkey"))
                else:
                    entries.append(Define(e.group("rkey"), e.group("rtype"), False,
                                          field=e.group("rfield")))
            defines[m.group(2)] = entries
        for m in re.finditer(r"setting_parser_info (\w+) = \{(.*?)\n\};", text, re.S):
            body = m.group(2)
            d = re.search(r"\.defines = (\w+)", body)
            if not d:
                continue
            dflt = re.search(r"\.defaults = &(\w+)", body)
            name_field = re.search(r"\.type_offset = offsetof\(struct \w+, (\w+)\)", body)
            module = re.search(r'\.module_name = "(\w+)"', body)
            infos[m.group(1)] = ParserInfo(m.group(1), d.group(1),
                                           dflt.group(1) if dflt else None,
                                           name_field.group(1) if name_field else None,
                                           module.group(1) if module else None)
        for m in re.finditer(r"^(?:static )?(?:const )?struct \w+ (\w+) = \{(.*?)\n\};",
                             text, re.S | re.M):
            structs[m.group(1)] = m.group(2)
    return defines, infos, structs


def enum_values(structs, macros, info, field):
    body = structs.get(info.defaults)
    if body is None:
        die("no defaults struct %s for %s" % (info.defaults, info.name))
    m = re.search(r"\.%s\s*=\s*((?:\"[^\"]*\"|[A-Z_0-9]+|\s)+)" % field, body)
    if not m:
        die("no enum default for %s in %s" % (field, info.defaults))
    parts = re.findall(r"\"([^\"]*)\"|([A-Z_0-9]+)", m.group(1))
    text = "".join(lit if lit else macros[name] for lit, name in parts)
    return text.split(":")


class Row:
    """One setting of a kind, merged over the modules that define it."""

    def __init__(self, rust, hidden, auth, null):
        self.rust = rust  # SettingType variant, as Rust source
        self.hidden = hidden
        self.auth = auth
        self.null = null


def is_null_default(structs, info, field):
    body = structs.get(info.defaults, "")
    return re.search(r"\.%s\s*=\s*NULL\b" % field, body) is not None


class Kind:
    """A section kind (or the root): its settings merged over every parser that defines it."""

    def __init__(self, kind, name_key, unique):
        self.kind = kind
        self.name_key = name_key
        self.unique = unique
        self.settings = {}  # key -> Row
        self.aliases = {}  # alias -> key
        self.children = {}


def build_kinds(defines, infos, structs, macros):
    referenced = {d.list_info for ds in defines.values() for d in ds if d.list_info}
    roots = [i for i in infos.values() if i.name not in referenced and i.defines in defines]
    kinds = {}

    def add(kind, info, auth):
        for d in defines[info.defines]:
            if d.ctype == "DEFLIST":
                child_info = infos[d.list_info]
                child = kinds.get(d.key)
                if child is None:
                    child = Kind(d.key, child_info.name_field, d.unique)
                    kinds[d.key] = child
                add(child, child_info, auth)
                rust = "Sections { section: &%s, unique: %s }" % (
                    rust_static(d.key), "true" if d.unique else "false")
            elif d.ctype == "STRLIST":
                rust = "StrList"
            elif d.ctype == "ENUM":
                words = enum_values(structs, macros, info, d.field)
                rust = "Enum(&[%s])" % ", ".join('"%s"' % w for w in words)
            else:
                rust = RUST_TYPE[d.ctype]
            null = d.field is not None and is_null_default(structs, info, d.field)
            old = kind.settings.get(d.key)
            if old is not None and old.rust != rust:
                # login_greeting is STR_VARS for login and lmtp, STR for submission: both take
                # any string, and one reader expands %variables in it.
                if {old.rust, rust} == {"Str", "StrVars"}:
                    sys.stderr.write("note: %s is STR in one module, STR_VARS in another: "
                                     "StrVars\n" % d.key)
                    rust = "StrVars"
                else:
                    die("%s: %s defined as %s and %s" % (kind.kind or "root", d.key, old.rust,
                                                          rust))
            if old is not None:
                old.rust = rust
                old.hidden = old.hidden and d.hidden
                old.auth = old.auth or auth
                old.null = old.null and null
            else:
                kind.settings[d.key] = Row(rust, d.hidden, auth, null)
            for a in d.aliases:
                kind.aliases[a] = d.key

    root = Kind("", None, True)
    for info in roots:
        add(root, info, info.module == "auth")
    return root, kinds


def rust_static(kind):
    return kind.upper()


# ---------------------------------------------------------------------------------------------
# Rust output

HEADER = """\
// GENERATED by contrib/gen-settings-tables.py from Dovecot {tag}'s setting defines
// (types, enums, hidden flags, aliases) and Debian 12's `doveconf -a -s`
// ({snapshots}: defaults as printed). Do not edit by hand: rerun the
// generator. Which settings cote implements is decided in support.rs, not here.
"""


def rust_str(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def setting_lines(kind, values, indent):
    """The rows of one kind: its settings and aliases, sorted by key as doveconf prints them."""
    rows = []
    for key, row in kind.settings.items():
        if key == kind.name_key:
            # The section's name: unique sections print it in the header, the others print
            # whatever the probe named them; either way a new section starts without one.
            default = ""
        elif key in values:
            default = values[key]
        elif row.rust.startswith(("Sections", "StrList")) or row.null:
            default = ""
        else:
            die("%s: %s has no default in the snapshots" % (kind.kind or "root", key))
        if row.null and key in values:
            die("%s: %s has a NULL default but doveconf prints it" % (kind.kind or "root", key))
        flags = "".join(f for f, on in ((".hide()", row.hidden), (".null()", row.null),
                                        (".auth_too()", row.auth)) if on)
        rows.append((key, "set(%s, %s, %s, %s)%s" % (rust_str(kind.kind), rust_str(key),
                                                     row.rust, rust_str(default), flags)))
    for alias, key in kind.aliases.items():
        auth = ".auth_too()" if kind.settings[key].auth else ""
        rows.append((alias, "set(%s, %s, Alias(%s), \"\")%s" % (
            rust_str(kind.kind), rust_str(alias), rust_str(key), auth)))
    return ["%s%s," % (indent, text) for _, text in sorted(rows)]


def section_static(kind, values, doc):
    name_key = "Some(%s)" % rust_str(kind.name_key) if kind.name_key else "None"
    lines = ["/// %s" % doc,
             "pub(super) static %s: SectionInfo = SectionInfo {" % rust_static(kind.kind or "root"),
             "    kind: %s," % rust_str(kind.kind),
             "    name_key: %s," % name_key,
             "    settings: &["]
    lines += setting_lines(kind, values, "        ")
    lines += ["    ],", "};"]
    return lines


def find_child(section, kind):
    found = [c for c in section.children if c.kind == kind]
    if len(found) != 1:
        die("sections snapshot: expected one %s section, found %d" % (kind, len(found)))
    return found[0]


def defaults_lines(section, generic, indent):
    """One SectionDefaults literal: values that differ from the kind's generic defaults."""
    lines = ["%sSectionDefaults {" % indent,
             "%s    kind: %s," % (indent, rust_str(section.kind)),
             "%s    name: %s," % (indent, rust_str(section.name)),
             "%s    values: &[" % indent]
    for key, value in section.values:
        if key not in generic[section.kind]:
            die("service %s: %s %s has no generic default" % (section.name, section.kind, key))
        if generic[section.kind][key] != value:
            lines.append("%s        (%s, %s)," % (indent, rust_str(key), rust_str(value)))
    if lines[-1].endswith("values: &["):
        lines[-1] += "],"
    else:
        lines.append("%s    ]," % indent)
    if section.children:
        lines.append("%s    children: &[" % indent)
        for child in section.children:
            lines += defaults_lines(child, generic, indent + "        ")
        lines.append("%s    ]," % indent)
    else:
        lines.append("%s    children: &[]," % indent)
    lines.append("%s}," % indent)
    return lines


def generate():
    macros = string_macros()
    defines, infos, structs = parse_source()
    root, kinds = build_kinds(defines, infos, structs, macros)

    empty = parse_dump(SNAPSHOT_EMPTY)
    probe = parse_dump(SNAPSHOT_SECTIONS)
    root_values = dict(empty.values)

    # Every setting the Debian build prints must be in the source, and every setting in the
    # source must be printed unless its default is NULL.
    for key in sorted(set(root_values) - set(root.settings)):
        die("root: %s is printed by doveconf but not defined in the source" % key)
    for key, (rust, default) in COTE_OWN[""].items():
        if key in root.settings:
            die("root: cote's own %s is a Dovecot setting" % key)
        root.settings[key] = Row(rust, False, False, False)
        root_values[key] = default

    # Generic defaults of each section kind, from the probe's one instance of each.
    generic = {}
    probe_sections = {}
    probe_sections["service"] = [s for s in probe.children
                                 if s.kind == "service" and s.name == "probe"][0]
    for kind in ("namespace", "passdb", "userdb", "metric", "event_exporter"):
        probe_sections[kind] = find_child(probe, kind)
    probe_sections["mailbox"] = find_child(probe_sections["namespace"], "mailbox")
    for kind in ("inet_listener", "unix_listener", "fifo_listener"):
        probe_sections[kind] = find_child(probe_sections["service"], kind)
    for kind, sec in probe_sections.items():
        generic[kind] = dict(sec.values)
        if kind not in kinds:
            die("probe has %s sections, the source does not" % kind)
    for kind in kinds:
        if kind not in generic:
            die("the sections probe lacks a %s section" % kind)

    uses = ["use super::super::SectionInfo;",
            "use super::super::SettingType::*;"]
    out = ["//! The top level of dovecot.conf.", ""]
    out += [HEADER.format(tag=TAG, snapshots=SNAPSHOT_EMPTY)]
    out += uses + ["use super::sections::*;", "use super::set;", ""]
    out += section_static(root, root_values,
                          "Every top-level setting Debian's Dovecot 2.3.19.1 accepts.")
    write(OUT_DIR + "/root.rs", out)

    out = ["//! The section kinds: `service` (with `inet_listener`, `unix_listener`,",
           "//! `fifo_listener`), `namespace` (with `mailbox`), `passdb`, `userdb`, `metric`,",
           "//! `event_exporter`. Defaults are the ones a new instance gets.", ""]
    out += [HEADER.format(tag=TAG, snapshots=SNAPSHOT_SECTIONS)]
    out += uses + ["use super::set;", ""]
    for kind in sorted(kinds):
        k = kinds[kind]
        doc = "`%s` sections (%s)." % (kind, "same name merges: DEFLIST_UNIQUE" if k.unique
                                       else "each block is a new one: DEFLIST")
        out += section_static(k, generic[kind], doc)
        out.append("")
    write(OUT_DIR + "/sections.rs", out)

    services = [s for s in empty.children if s.kind == "service"]
    out = ["//! Dovecot's built-in services: each one's values that differ from a new `service`",
           "//! section's defaults, and its default listeners, in doveconf's order.", ""]
    out += [HEADER.format(tag=TAG, snapshots=SNAPSHOT_EMPTY),
            "use super::super::SectionDefaults;", "",
            "pub(super) static BUILTIN_SERVICES: &[SectionDefaults] = &["]
    for s in services:
        out += defaults_lines(s, generic, "    ")
    out += ["];", ""]
    write(OUT_DIR + "/services.rs", out)
    for kind in sorted(kinds):
        sys.stderr.write("%s: %d settings\n" % (kind, len(kinds[kind].settings)))
    sys.stderr.write("root: %d settings, %d services\n" % (len(root.settings), len(services)))


def write(path, lines):
    with open(path, "w") as f:
        f.write("\n".join(lines).rstrip("\n") + "\n")
    subprocess.run(["rustfmt", "--edition", "2021", path], check=True)


def main():
    if len(sys.argv) != 2 or sys.argv[1] not in ("snapshot", "generate"):
        die("usage: contrib/gen-settings-tables.py snapshot|generate")
    if sys.argv[1] == "snapshot":
        snapshot()
    else:
        generate()


if __name__ == "__main__":
    main()
