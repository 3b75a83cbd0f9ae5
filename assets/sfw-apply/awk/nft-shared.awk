function fail(m) { printf "stateful-firewall: ruleset.nft:%d: %s\n", FNR, m > "/dev/stderr"; bad = 1 }
{ l = $0; sub(/^[ \t]+/, "", l); split(l, w, /[ \t]+/) }
w[1] == "table" && !(w[2] == "inet" && (w[3] == name || w[3] == name "{")) { fail("only table inet " name " may be defined in shared mode") }
w[1] == "include" { fail("include is not allowed in shared mode") }
w[1] == "flush" && w[2] == "ruleset" { fail("flush ruleset is not allowed in shared mode") }
w[1] ~ /^(add|create|insert|replace|delete|destroy|flush|reset|rename)$/ && w[2] !~ /^@/ && w[2] != "" &&
  !(w[3] == "inet" && w[4] == name) { fail("statement outside table inet " name " is not allowed in shared mode") }
END { exit bad }
