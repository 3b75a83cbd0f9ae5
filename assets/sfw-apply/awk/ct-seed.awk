function split_ep(ep) {
  if (!match(ep, /:[0-9]+$/)) return 0
  port = substr(ep, RSTART + 1); addr = substr(ep, 1, RSTART - 1)
  gsub(/[][]/, "", addr); sub(/%.*/, "", addr)
  if (addr ~ /^::ffff:[0-9.]+$/) addr = substr(addr, 8)
  return 1
}
FILENAME == ctf {
  s = d = sp = dp = ""
  for (i = 1; i <= NF; i++) {
    if ($i ~ /^src=/ && s == "") s = substr($i, 5)
    else if ($i ~ /^dst=/ && d == "") d = substr($i, 5)
    else if ($i ~ /^sport=/ && sp == "") sp = substr($i, 7)
    else if ($i ~ /^dport=/ && dp == "") dp = substr($i, 7)
  }
  known[s " " d " " sp " " dp] = 1; known[d " " s " " dp " " sp] = 1
  next
}
NF >= 4 {
  if (!split_ep($3)) next
  la = addr; lp = port
  if (!split_ep($4)) next
  pa = addr; pp = port
  if ((pa " " la " " pp " " lp) in known) next
  print pa, la, pp, lp
}
