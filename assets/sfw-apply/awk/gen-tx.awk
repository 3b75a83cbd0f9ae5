function addtable(t) { if (!(t in seen)) { seen[t] = 1; order[++nt] = t } }
function fail(msg) { printf "%s: %s\n", "stateful-firewall", msg > "/dev/stderr"; err = 1; exit 1 }
# uncond(LINE): the rule has no match (a comment aside), only a target
function uncond(line,   r) {
  r = line
  gsub(/[ \t]-m[ \t]+comment[ \t]+--comment[ \t]+("([^"\\]|\\.)*"|[^ \t"]+)/, "", r)
  sub(/^-A[ \t]+[^ \t]+[ \t]+/, "", r)
  return r ~ /^-[jg][ \t]/
}
function isgoto(line,   n, a, i) {
  n = split(line, a, /[ \t]+/)
  for (i = 1; i < n; i++) if (a[i] == "-j" || a[i] == "-g") return a[i] == "-g"
  return 0
}
function terminal(t) { return index(" ACCEPT DROP REJECT QUEUE NFQUEUE TARPIT ", " " t " ") > 0 }
# decides(T, C, D): every packet entering foreign user chain C gets a verdict
# there (conservative: a RETURN or goto before the deciding rule says no)
function decides(t, c, d,   k, g) {
  if (d > 16) return 0
  for (k = 1; k <= nfr[t, c]; k++) {
    g = ftgt[t, c, k]
    if (g == "RETURN" || fgoto[t, c, k]) return 0
    if (!funcond[t, c, k]) continue
    if (terminal(g)) return 1
    if (((t, g) in fchain) && decides(t, g, d + 1)) return 1
  }
  return 0
}
# catchall(T, C): index of the first foreign rule of built-in chain C that
# decides every packet reaching it (0: none)
function catchall(t, c,   k, g) {
  for (k = 1; k <= nfr[t, c]; k++) {
    if (!funcond[t, c, k]) continue
    g = ftgt[t, c, k]
    if (fgoto[t, c, k] || g == "RETURN" || terminal(g)) return k
    if (((t, g) in fchain) && decides(t, g, 1)) return k
  }
  return 0
}
FILENAME == livef {
  if ($0 ~ /^\*/) { lt = substr($0, 2); next }
  if ($0 ~ /^:/) {
    c = substr($1, 2)
    if ($2 != "-") lbuiltin[lt, c] = 1
    else if (isdu(lt, c)) { lbuiltin[lt, c] = 1; fchain[lt, c] = 1; ldu[lt] = 1 }
    else if (issfw(c)) { lchains[lt, c] = 1; nlc[lt]++; lchain[lt, nlc[lt]] = c; addtable(lt) }
    else fchain[lt, c] = 1
    next
  }
  if ($1 == "-A") {
    c = $2; t = tgt($0)
    if (c == "FORWARD" && isdu(lt, t) && uncond($0)) lfwdu[lt] = 1
    if (!issfw(c) && !issfw(t)) {
      k = ++nfr[lt, c]; frule[lt, c, k] = $0; ftgt[lt, c, k] = t
      fgoto[lt, c, k] = isgoto($0); funcond[lt, c, k] = uncond($0)
    }
    if (issfw(c) || !issfw(t)) next
    if ((lt, c) in lbuiltin) { nlh[lt]++; lhook[lt, nlh[lt]] = $0; addtable(lt) }
    else fref[lt, t] = 1
  }
  next
}
{
  line = $0
  sub(/[ \t\r]+$/, "", line)
  if (line ~ /^[ \t]*(#|$)/) next
  if (line ~ /^\*/) { dt = substr(line, 2); addtable(dt); next }
  if (dt == "") fail(sprintf("%s:%d: rule outside a *table section", src, FNR))
  if (line == "COMMIT") next
  if (line ~ /^:/) {
    c = substr($1, 2)
    if (isdu(dt, c)) { dbuiltin[dt, c] = 1; next }
    if ($2 != "-") {
      dbuiltin[dt, c] = 1
      if (warnpolicy && $2 != "ACCEPT")
        printf "%s: warning: %s: policy %s of built-in chain %s (table %s) is ignored in shared mode\n", "stateful-firewall", src, $2, c, dt > "/dev/stderr"
      next
    }
    if (!issfw(c)) fail(sprintf("%s:%d: chain %s is not a library chain (SFW-*); shared mode loads only SFW-* chains", src, FNR, c))
    if (!((dt, c) in dchains)) { dchains[dt, c] = 1; ndc[dt]++; dchain[dt, ndc[dt]] = c }
    next
  }
  if ($1 == "-A") {
    c = $2
    if (issfw(c)) { ndr[dt]++; drule[dt, ndr[dt]] = line; next }
    # FORWARD -> DOCKER-USER is the jump Docker makes: ensured (when the chain is created), never owned
    if (c == "FORWARD" && isdu(dt, tgt(line))) next
    if (!((dt, c) in dbuiltin)) fail(sprintf("%s:%d: chain %s is not a library chain (SFW-*); shared mode loads only SFW-* chains", src, FNR, c))
    if (!issfw(tgt(line))) fail(sprintf("%s:%d: built-in chain %s may only jump to SFW-* chains in shared mode", src, FNR, c))
    rest = line
    sub(/^-A[ \t]+[^ \t]+/, "", rest)
    ndh[dt]++
    if (isdu(dt, c)) {
      # first in DOCKER-USER, ahead of anything the administrator or Docker put there
      ndu[dt]++
      dhook[dt, ndh[dt]] = "-I " c " " ndu[dt] rest
    } else if (dt == "filter") {
      # after every foreign rule (the old hook is deleted before)
      dhook[dt, ndh[dt]] = "-A " c rest; dlast[dt, ndh[dt]] = c
    } else {
      pos[dt, c]++
      dhook[dt, ndh[dt]] = "-I " c " " pos[dt, c] rest
    }
    next
  }
  fail(sprintf("%s:%d: unsupported line (expected iptables-save format): %s", src, FNR, line))
}
END {
  if (err) exit 1
  chains = 0; hooks = 0; stale = 0; tabs = ""
  for (i = 1; i <= nt; i++) {
    t = order[i]
    if (index(skip, " " t " ")) continue
    for (j = 1; j <= ndh[t]; j++) {
      c = dlast[t, j]
      if (c == "" || ((t, c) in checked)) continue
      checked[t, c] = 1
      k = catchall(t, c)
      if (!k) continue
      msg = sprintf("%s: built-in chain %s (table %s) has a foreign rule that decides every packet: %s -- shared mode hooks the library chain after the other rules of %s, so it would never see a packet; remove that rule (and declare what it did in the library) or deploy with exclusive ownership", src, c, t, frule[t, c, k], c)
      if (strict) fail(msg)
      printf "%s: warning: %s\n", "stateful-firewall", msg > "/dev/stderr"
    }
    out = ""
    # DOCKER-USER missing (Docker not installed, or not started yet at boot): create it and
    # its jump as Docker does (it adopts an existing chain and never flushes it)
    if (ndu[t] > 0 && !ldu[t]) out = out ":DOCKER-USER - [0:0]\n"
    if (ndu[t] > 0 && !lfwdu[t]) out = out "-I FORWARD 1 -j DOCKER-USER\n"
    for (j = 1; j <= ndc[t]; j++) out = out ":" dchain[t, j] " - [0:0]\n"
    # explicit flush: the declaration flushes on iptables 1.8.9 (nft and legacy), older nft variants did not
    for (j = 1; j <= ndc[t]; j++) out = out "-F " dchain[t, j] "\n"
    for (j = 1; j <= nlh[t]; j++) out = out "-D" substr(lhook[t, j], 3) "\n"
    for (j = 1; j <= nlc[t]; j++) if (!((t, lchain[t, j]) in dchains)) out = out "-F " lchain[t, j] "\n"
    for (j = 1; j <= nlc[t]; j++) {
      c = lchain[t, j]
      if ((t, c) in dchains) continue
      if ((t, c) in fref) {
        printf "%s: warning: chain %s (table %s) is referenced by a foreign chain; it is flushed but kept\n", "stateful-firewall", c, t > "/dev/stderr"
        continue
      }
      out = out "-X " c "\n"
      if (c != "SFW-PRIME") stale++
    }
    for (j = 1; j <= ndh[t]; j++) out = out dhook[t, j] "\n"
    for (j = 1; j <= ndr[t]; j++) out = out drule[t, j] "\n"
    chains += ndc[t]; hooks += ndh[t]
    if (ndc[t] > 0) tabs = tabs " " t
    if (out != "") printf "*%s\n%sCOMMIT\n", t, out
  }
  if (statsf != "") printf "%d %d %d%s\n", chains, hooks, stale, tabs > statsf
}
