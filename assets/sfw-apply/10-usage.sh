usage() {
  cat <<'EOF'
usage: sh sfw-apply.sh <command> [options]

commands:
  apply      validate the pending ruleset, save the current state as the
             rollback point, arm the rollback timer, load the ruleset
             atomically and print the apply id
  confirm    cancel the armed rollback if the live ruleset is still the one
             apply installed, then persist it for reboots
  rollback   restore the saved rollback point now
  destroy    remove everything the library installed (chains, hooks, sets,
             nftables table, armed rollback, persisted configuration)
  status     show the library objects present and the rollback state
  boot       load the persisted ruleset (/etc/stateful-firewall/boot; run at
             boot by stateful-firewall.service, which confirm installs where
             no persistence convention restores the ruleset by itself)
  verify     compare the live ruleset and sets with the last confirmed apply
             and print each difference; writes nothing (exit status below)
  tune       size the conntrack table (--conntrack-max, --conntrack-buckets):
             raise the kernel values where they are lower, persist them;
             without values, undo what an earlier tune did

options:
  --dir DIR               pending ruleset directory
                          (default /etc/stateful-firewall/pending)
  --backend NAME          iptables or nftables (default: detected from --dir)
  --mode MODE             shared (default: only library objects are replaced)
                          or exclusive (the whole filter table / ruleset)
  --rollback-timeout SEC  seconds before an unconfirmed apply is rolled back
                          (default 60), counted from the load's completion; a
                          confirm already running then is waited for (SEC more)
  --state-dir DIR         rollback point and markers
                          (default /var/lib/stateful-firewall)
  --apply-id ID           apply: the id to record (default: generated);
                          confirm/rollback: act only for this apply
  --sha256 NAME=HEX       apply: the file NAME in --dir must have this sha256
                          (repeatable; a mismatch rejects the apply)
  --if-drifted            apply: only when the live ruleset drifted from the
                          last confirmed apply (or cannot be verified); else
                          nothing is applied and confirm of this id succeeds
  --table NAME            nftables table name for status/destroy
                          (default: from the last apply, else stateful_firewall)
  --conntrack-max N       apply/tune: nf_conntrack_max the host needs
  --conntrack-buckets N   apply/tune: conntrack hash buckets the host needs
                          (apply without them undoes an earlier sizing)
  -h, --help              show this help

pending directory:
  iptables:  rules.v4 [rules.v6] [sets.ipset]   (iptables-save format)
  nftables:  ruleset.nft                        (one `table inet NAME`)

environment:
  SFW_IPTABLES, SFW_IP6TABLES        iptables variant (e.g. iptables-legacy);
  SFW_IPTABLES_SAVE, SFW_IPTABLES_RESTORE, SFW_IP6TABLES_SAVE,
  SFW_IP6TABLES_RESTORE              explicit save/restore commands
  SFW_ROOT                           prefix for /etc persistence paths
  SFW_TIMER                          auto (default), systemd or detached
  SFW_CT_SEED                        0: do not add conntrack entries for
                                     established connections before the load

exit status:
  0 ok, 1 error, 2 usage, 3 ruleset rejected (nothing changed),
  4 confirm refused (host rolled back or ruleset differs),
  5 load failed after validation (previous state restored)
  verify: 0 in sync, 1 drifted, 2 cannot verify (nothing confirmed yet, an
  apply in progress or waiting for its confirm, a listing that failed)
EOF
}

