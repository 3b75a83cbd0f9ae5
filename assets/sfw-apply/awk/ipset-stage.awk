function fail(msg) { printf "%s: %s\n", "stateful-firewall", msg > "/dev/stderr"; err = 1; exit 1 }
{ sub(/[ \t\r]+$/, "") }
/^[ \t]*(#|$)/ { next }
$1 == "create" {
  if (substr($2, 1, 4) != "sfw-") fail(sprintf("%s:%d: set %s is not a library set (sfw-*)", src, FNR, $2))
  if ($2 in tmp) fail(sprintf("%s:%d: set %s is created twice", src, FNR, $2))
  tmp[$2] = "sfw.tmp" (++n)
  fam = "-"
  for (i = 4; i < NF; i++) if ($i == "family") fam = $(i + 1)
  print tmp[$2] " " $3 " " fam " " $2 > mapf
  $2 = tmp[$2]; print; next
}
$1 == "add" {
  if (!($2 in tmp)) fail(sprintf("%s:%d: add to set %s before its create line", src, FNR, $2))
  $2 = tmp[$2]; print; next
}
{ fail(sprintf("%s:%d: unsupported line (expected ipset save format): %s", src, FNR, $0)) }
