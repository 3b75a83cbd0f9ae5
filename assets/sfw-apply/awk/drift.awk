# The drift report (verify): the baseline (file wantf, side 1) against the live dump
# (stdin, side 2), both of one kind: ipt (iptables-save), ipset (ipset save) or nft
# (nft -s list). Each is read into containers (a chain, a
# set, a table: cont), their attributes (the policy of a chain, the type of a set: attr) and items
# (rules in order, set members: item); END prints each difference, limit lines a list.
# A dump that failed (the line #SFW-DUMP-FAILED) or ended mid-table: exit 3.
# vars: kind, wantf, what (label of the section); ipt: fam, own
function cont(k, ord, parent, unit) {
  if ((side, k) in has) return
  has[side, k] = 1; nk[side]++; korder[side, nk[side]] = k
  kord[k] = ord; kunit[k] = unit; kpar[side, k] = parent; ni[side, k] = 0
  if (parent != "") { nchild[side, parent]++ }
}
function attr(k, name, v) {
  if (!((side, k, name) in av)) { na[side, k]++; aname[side, k, na[side, k]] = name }
  av[side, k, name] = v
}
function item(k, it) { ni[side, k]++; items[side, k, ni[side, k]] = it; cnt[side, k, it]++ }
function list(s, k, sign, other,   j, it, shown, left, seen) {
  shown = 0; left = 0
  for (j = 1; j <= ni[s, k]; j++) {
    it = items[s, k, j]
    if (other && cnt[s, k, it] - cnt[3 - s, k, it] <= seenc[s, k, it]) continue
    seenc[s, k, it]++
    if (shown < limit) { print "    " sign " " it; shown++ } else left++
  }
  if (left > 0) print "    ... and " left " more"
}
function plural(n, unit) { return n " " unit }
function total(s, k,   c, j, n) {
  n = ni[s, k]
  for (j = 1; j <= nk[s]; j++) { c = korder[s, j]; if (kpar[s, c] == k) n += ni[s, c] }
  return n
}
function report(   s, j, k, a, v, w, miss, add, p, q, d) {
  if (limit == "") limit = 20
  diffs = 0
  for (j = 1; j <= nk[1]; j++) {
    k = korder[1, j]
    if (!((2, k) in has)) {
      p = kpar[1, k]
      if (p != "" && !((2, p) in has)) continue
      diffs++
      if (nchild[1, k] > 0) printf "drift: %s: missing (with %d chain(s) or set(s), %d line(s) in them)\n", k, nchild[1, k], total(1, k)
      else printf "drift: %s: missing (%s)\n", k, plural(ni[1, k], kunit[k])
      list(1, k, "-", 0)
      continue
    }
    for (a = 1; a <= na[1, k]; a++) {
      w = aname[1, k, a]; v = ((2, k, w) in av) ? av[2, k, w] : "(none)"
      if (v != av[1, k, w]) { diffs++; printf "drift: %s: %s is now: %s (confirmed: %s)\n", k, w, v, av[1, k, w] }
    }
    for (a = 1; a <= na[2, k]; a++) {
      w = aname[2, k, a]
      if (!((1, k, w) in av)) { diffs++; printf "drift: %s: %s is now: %s (confirmed: (none))\n", k, w, av[2, k, w] }
    }
    miss = 0; add = 0
    for (q = 1; q <= ni[1, k]; q++) if (cnt[1, k, items[1, k, q]] > cnt[2, k, items[1, k, q]]) miss++
    for (q = 1; q <= ni[2, k]; q++) if (cnt[2, k, items[2, k, q]] > cnt[1, k, items[2, k, q]]) add++
    # duplicates count once per surplus copy
    if (miss > 0) {
      miss = 0
      for (q = 1; q <= ni[1, k]; q++) { it = items[1, k, q]; if (!((1, k, it) in done) && cnt[1, k, it] > cnt[2, k, it]) { done[1, k, it] = 1; miss += cnt[1, k, it] - cnt[2, k, it] } }
      diffs++
      printf "drift: %s: %s missing%s\n", k, plural(miss, kunit[k]), (ni[2, k] == 0 ? " (it is empty now)" : "")
      list(1, k, "-", 1)
    }
    if (add > 0) {
      add = 0
      for (q = 1; q <= ni[2, k]; q++) { it = items[2, k, q]; if (!((2, k, it) in done) && cnt[2, k, it] > cnt[1, k, it]) { done[2, k, it] = 1; add += cnt[2, k, it] - cnt[1, k, it] } }
      diffs++
      printf "drift: %s: %s not in the confirmed ruleset\n", k, plural(add, kunit[k])
      list(2, k, "+", 1)
    }
    if (miss == 0 && add == 0 && kord[k]) {
      for (q = 1; q <= ni[1, k]; q++) if (items[1, k, q] != items[2, k, q]) break
      if (q <= ni[1, k]) {
        diffs++
        printf "drift: %s: the same %s in another order; from position %d on:\n", k, plural(ni[1, k], kunit[k]), q
        printf "    live:      %s\n    confirmed: %s\n", items[2, k, q], items[1, k, q]
      }
    }
  }
  for (j = 1; j <= nk[2]; j++) {
    k = korder[2, j]
    if ((1, k) in has) continue
    p = kpar[2, k]
    if (p != "" && !((1, p) in has)) continue
    diffs++
    if (nchild[2, k] > 0) printf "drift: %s: not in the confirmed ruleset (with %d chain(s) or set(s), %d line(s) in them)\n", k, nchild[2, k], total(2, k)
    else printf "drift: %s: not in the confirmed ruleset (%s)\n", k, plural(ni[2, k], kunit[k])
    list(2, k, "+", 0)
  }
  if (diffs == 0) {
    d = 0
    for (j = 1; j <= nk[2]; j++) d += ni[2, korder[2, j]]
    printf "ok: %s: as confirmed (%d chain(s), set(s) or table(s); %d rule(s), member(s) or line(s))\n", what, nk[2], d
  }
  return diffs
}
FNR == 1 { side = (FILENAME == wantf) ? 1 : 2; seen_file[side] = 1 }
$0 == "#SFW-DUMP-FAILED" { failed[side] = 1; next }

# iptables-save (baseline, then live): the library chains (SFW-*) and their jumps from
# built-in chains; every chain of the tables in own (exclusive mode), with its policy.
# vars: fam (ipv4/ipv6), own (" filter raw " or " ")
kind == "ipt" && (/^#/) { next }
kind == "ipt" && (/^\*/) { t = substr($0, 2); open[side] = 1; next }
kind == "ipt" && (/^COMMIT/) { open[side] = 0; next }
kind == "ipt" && (/^:/) {
  c = substr($1, 2)
  if (index(own, " " t " ")) {
    k = fam " " t " chain " c; cont(k, 1, "", "rule(s)")
    if ($2 != "-") attr(k, "policy", $2)
  } else if (issfw(c)) cont(fam " " t " chain " c, 1, "", "rule(s)")
  if ($2 != "-") bi[side, t, c] = 1
  next
}
kind == "ipt" && (/^-A /) {
  c = $2
  if (index(own, " " t " ") || issfw(c)) { item(fam " " t " chain " c, $0); next }
  if (((side, t, c) in bi) && issfw(tgt($0))) { k = fam " " t " chain " c " (its jumps to the library)"; cont(k, 1, "", "jump(s)"); item(k, $0) }
}

# ipset save (baseline, then live): the library sets (sfw-*), their type and options
# (less the kernel initval and hashsize) and members (less timeouts and counters).
kind == "ipset" && ($1 == "create" && $2 ~ /^sfw-/) {
  k = "ipset set " $2; cont(k, 0, "", "member(s)")
  o = $0; sub(/^create [^ ]+ /, "", o); sub(/ initval 0x[0-9a-f]+/, "", o); sub(/ hashsize [0-9]+/, "", o)
  attr(k, "type", o); next
}
kind == "ipset" && ($1 == "add" && $2 ~ /^sfw-/) {
  o = $0; sub(/^add [^ ]+ /, "", o); gsub(/ (timeout|packets|bytes) [0-9]+/, "", o)
  item("ipset set " $2, o)
}

# nft -s list (baseline, then live): tables, their chains (hook line, rules in order), sets
# and maps (type, flags; elements, except those of dynamic sets, which the packet path
# fills) and other objects. Expiry times are left out.
kind == "nft" {
  l = $0; sub(/^[ \t]+/, "", l); sub(/[ \t]+$/, "", l); gsub(/ expires [0-9a-z.]+/, "", l)
  s = l; gsub(/"([^"\\]|\\.)*"/, "\"\"", s)
  op = gsub(/\{/, "{", s); cl = gsub(/\}/, "}", s)
}
kind == "nft" && (l == "" || l ~ /^#/) { next }
kind == "nft" && (inel[side]) {
  buf = buf " " l; eld += op - cl
  if (eld <= 0) { inel[side] = 0; elements() }
  next
}
kind == "nft" && (depth[side] == 0) {
  if (l ~ /^table /) { tk = "nftables " l; sub(/ *\{$/, "", tk); cont(tk, 0, "", "line(s)"); open[side] = 1; depth[side] = 1 }
  next
}
kind == "nft" && (depth[side] == 1) {
  if (l == "}") { depth[side] = 0; open[side] = 0; next }
  if (op > cl) {
    bk = l; sub(/ *\{$/, "", bk); btype = bk; sub(/ .*/, "", btype); dyn = 0
    bk = tk " " bk
    cont(bk, btype == "chain", tk, btype == "chain" ? "rule(s)" : (btype == "set" || btype == "map") ? "element(s)" : "line(s)")
    depth[side] = 2
  } else item(tk, l)
  next
}
kind == "nft" && (depth[side] == 2) {
  if (l == "}") { depth[side] = 1; next }
  w = l; sub(/ .*/, "", w)
  if ((btype == "set" || btype == "map") && l ~ /^elements = \{/) {
    buf = l; eld = op - cl
    if (eld > 0) inel[side] = 1
    else elements()
    next
  }
  if (btype == "chain") { if (w == "type" || w == "policy" || w == "comment" || w == "devices") attr(bk, w, l); else item(bk, l); next }
  if (btype == "set" || btype == "map") { attr(bk, w, l); if (w == "flags" && l ~ /dynamic/) dyn = 1; next }
  sub(/ used [0-9]+ [a-z]+/, "", l)
  item(bk, l)
}
function elements(   e, n, parts, i, x) {
  if (dyn) return
  e = buf; sub(/^elements = \{ */, "", e); sub(/ *\}$/, "", e)
  n = split(e, parts, ",")
  for (i = 1; i <= n; i++) { x = parts[i]; sub(/^[ \t]+/, "", x); sub(/[ \t]+$/, "", x); if (x != "") item(bk, x) }
}

END {
  if (failed[1]) { printf "cannot verify: %s: the recorded ruleset cannot be read\n", what; exit 3 }
  if (failed[2] || open[2]) { printf "cannot verify: %s: the live ruleset could not be listed completely\n", what; exit 3 }
  exit (report() > 0)
}
