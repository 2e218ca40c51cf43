# cote — see README.
#
#   make run        start cote in the foreground on the embedded default (etc/cote.conf)
#   make test       the whole test suite (unit, config oracle, transcripts in t/)
#   make test-cifs-names   the storage tests with maildir_info_separator = ; (no ':' in names)
#   make bench      cote against Dovecot 2.3 side by side (bench/README.md; ~20 min, root)
#   make bench-quick    every workload briefly (under 3 minutes): tests the harness
#   make bench-storage  the storage-layer benchmark (figures only, nothing asserted)
#   make install    PREFIX=/usr/local DESTDIR=   (install-compat adds dovecot/doveconf/doveadm links)

PREFIX   ?= /usr/local
DESTDIR  ?=
SBINDIR  ?= $(PREFIX)/sbin
BINDIR   ?= $(PREFIX)/bin
DATADIR  ?= $(PREFIX)/share/cote
CARGO    ?= cargo

# Debian's Dovecot 2.3, unpacked (not installed, no services started) as the tests' oracle.
ORACLE_DIR   ?= target/dovecot-oracle
ORACLE_DEBS  := dovecot-core dovecot-imapd dovecot-pop3d dovecot-lmtpd

.PHONY: all build run test test-cifs-names test-cluster test-cluster-matrix bench bench-quick bench-storage bench-build oracle install install-compat clean build-deps

all: build

build: build-deps
	$(CARGO) build --release

# The default build links libpam (passdb pam) and libcrypt: say which package is missing
# rather than let the linker fail. (`cargo build --no-default-features` needs no libpam.)
build-deps:
	@printf 'int main(void) { return 0; }\n' | $${CC:-cc} -x c - -o /dev/null -lpam -lcrypt 2>/dev/null || { \
	    echo "cote links libpam and libcrypt: sudo apt-get install build-essential libpam0g-dev libcrypt-dev" >&2; \
	    exit 1; }

# The demo users' passwd-file needs an absolute path; started as root, mail processes run as
# nobody (see etc/conf.d/10-auth.conf and 10-mail.conf).
run: build
	mkdir -p var/mail
	if [ "$$(id -u)" = 0 ]; then chown nobody:nogroup var/mail; fi
	if [ "$$(id -u)" = 0 ]; then export COTE_DEMO_MAIL_USER=nobody COTE_DEMO_MAIL_GROUP=nogroup; fi; \
	COTE_DEMO_USERS=$(CURDIR)/etc/users ./target/release/cote -F -c etc/cote.conf

test: build-deps oracle
	COTE_DOVECOT_ROOT=$${COTE_DOVECOT_ROOT:-$(abspath $(ORACLE_DIR))} $(CARGO) test --release

# The storage tests again with `maildir_info_separator = ;`, as on a CIFS share: they fail if
# any name under a test's mail root holds ':'. Shorter hammers: the names are the point.
test-cifs-names: build-deps
	COTE_TEST_MAILDIR_INFO_SEPARATOR=';' $(CARGO) test --release --lib -- storage::
	COTE_TEST_MAILDIR_INFO_SEPARATOR=';' COTE_STORAGE_HAMMER_MS=2000 $(CARGO) test --release \
	    --test storage_crash --test storage_concurrent --test maildir_cifs_names

# Two nodes on two FUSE mounts of one GlusterFS volume (../shared/sharedfs-setup.sh; root,
# /dev/fuse) under mixed LMTP/IMAP/POP3 load, then the invariant checker (tests/cluster/run.py).
# test-cluster: one quick cell; test-cluster-matrix: profiles x lock_method x mmap_disable x
# mail_nfs_*, a table on stderr and results in target/cluster-matrix.json.
CLUSTER_ARGS ?= --profile cto --lock fcntl --seconds 30
test-cluster: build-deps
	$(CARGO) build --release --workspace --bins
	python3 tests/cluster/run.py $(CLUSTER_ARGS)

test-cluster-matrix: build-deps
	$(CARGO) build --release --workspace --bins
	python3 tests/cluster/run.py --matrix --seconds 30 --json target/cluster-matrix.json

# The harness starts a private Dovecot (from the unpacked oracle) and cote on free loopback
# ports and drives both with cote-loadgen (bench/loadgen, a workspace member, not linked into
# the server). COTE_BENCH_COTE=path points it at another cote binary.
bench-build: build-deps oracle
	$(CARGO) build --release --workspace --bins

bench: bench-build
	COTE_DOVECOT_ROOT=$${COTE_DOVECOT_ROOT:-$(abspath $(ORACLE_DIR))} python3 bench/harness.py

bench-quick: bench-build
	COTE_DOVECOT_ROOT=$${COTE_DOVECOT_ROOT:-$(abspath $(ORACLE_DIR))} python3 bench/harness.py --quick

bench-storage:
	$(CARGO) bench --bench storage

# Extract Debian's dovecot packages once; apt-get download and dpkg-deb -x need no root.
oracle: $(ORACLE_DIR)/usr/bin/doveconf

$(ORACLE_DIR)/usr/bin/doveconf:
	rm -rf $(ORACLE_DIR).tmp && mkdir -p $(ORACLE_DIR).tmp/debs
	cd $(ORACLE_DIR).tmp/debs && apt-get download $(ORACLE_DEBS)
	for deb in $(ORACLE_DIR).tmp/debs/*.deb; do dpkg-deb -x "$$deb" $(ORACLE_DIR).tmp/root || exit 1; done
	rm -rf $(ORACLE_DIR) && mv $(ORACLE_DIR).tmp/root $(ORACLE_DIR) && rm -rf $(ORACLE_DIR).tmp

install: build
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(DATADIR)/contrib
	install -m 0755 target/release/cote $(DESTDIR)$(SBINDIR)/cote
	install -m 0755 target/release/coteconf $(DESTDIR)$(BINDIR)/coteconf
	install -m 0755 target/release/coteadm $(DESTDIR)$(BINDIR)/coteadm
	install -m 0755 target/release/cote-lda $(DESTDIR)$(SBINDIR)/cote-lda
	install -m 0644 contrib/cote.service contrib/cote.logrotate $(DESTDIR)$(DATADIR)/contrib/
	install -m 0755 contrib/cote.init $(DESTDIR)$(DATADIR)/contrib/

# For init scripts and admins that call Dovecot's names.
install-compat: install
	ln -sf cote $(DESTDIR)$(SBINDIR)/dovecot
	ln -sf coteconf $(DESTDIR)$(BINDIR)/doveconf
	ln -sf coteadm $(DESTDIR)$(BINDIR)/doveadm
	ln -sf cote-lda $(DESTDIR)$(SBINDIR)/dovecot-lda

clean:
	$(CARGO) clean
