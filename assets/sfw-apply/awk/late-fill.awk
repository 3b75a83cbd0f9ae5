function fail(msg) { printf "%s: %s\n", "stateful-firewall", msg > "/dev/stderr"; err = 1; exit 1 }
function v4(a,   n, p, i) {
  n = split(a, p, ".")
  if (n != 4) return 0
  for (i = 1; i <= 4; i++) {
    if (p[i] == "" || p[i] ~ /[^0-9]/ || length(p[i]) > 3 || p[i] + 0 > 255) return 0
    if (length(p[i]) > 1 && substr(p[i], 1, 1) == "0") return 0
  }
  return 1
}
function v4num(a,   p) { split(a, p, "."); return ((p[1] * 256 + p[2]) * 256 + p[3]) * 256 + p[4] }
function v6(a,   n, p, i, d, rest) {
  if (a == "" || a ~ /[^0-9A-Fa-f:]/) return 0
  d = index(a, "::")
  if (d > 0) { rest = substr(a, d + 2); if (index(rest, "::") > 0) return 0 }
  if (a ~ /^:[^:]/ || a ~ /[^:]:$/) return 0
  n = split(a, p, ":")
  for (i = 1; i <= n; i++) if (length(p[i]) > 4) return 0
  if (d == 0) return n == 8
  # "::" leaves one or two empty fields (three for a lone "::")
  return a == "::" || n <= 8
}
function addr(fam, a) { return fam == "ipv6" ? v6(a) : v4(a) }
# an address, or (net) a CIDR block without host bits (IPv4) or a range
function valid(fam, net, a,   s, pre, bits, first, last, n, size, i) {
  if (addr(fam, a)) return 1
  if (!net) return 0
  s = index(a, "/")
  if (s > 0) {
    pre = substr(a, s + 1); a = substr(a, 1, s - 1)
    bits = fam == "ipv6" ? 128 : 32
    if (pre == "" || pre ~ /[^0-9]/ || length(pre) > 3 || pre + 0 > bits || !addr(fam, a)) return 0
    # no ^ or %: busybox awk may be built without math support
    if (fam == "ipv4") {
      size = 1; for (i = pre; i < 32; i++) size = size * 2
      n = v4num(a)
      if (n - int(n / size) * size != 0) return 0
    }
    return 1
  }
  s = index(a, "-")
  if (s == 0) return 0
  first = substr(a, 1, s - 1); last = substr(a, s + 1)
  if (!addr(fam, first) || !addr(fam, last)) return 0
  return fam == "ipv6" || v4num(first) <= v4num(last)
}
# late.values (KEY VALUE), then late.map (KEY SET FAMILY NET ORIGIN...): prints SET VALUE
FNR == NR { if (NF >= 1) value[$1] = NF >= 2 ? $2 : ""; if (NF > 2) value[$1] = "(several words)"; next }
NF == 0 { next }
{
  key = $1; set = $2; fam = $3; net = ($4 == "1")
  origin = $5; for (i = 6; i <= NF; i++) origin = origin " " $i
  what = (fam == "ipv6" ? "IPv6 " : "IPv4 ") (net ? "address, CIDR block or range" : "address")
  if (substr(set, 1, 4) != "sfw-" || (fam != "ipv4" && fam != "ipv6")) fail(sprintf("late.map:%d: unsupported line: %s", FNR, $0))
  if (!(key in value) || value[key] == "") fail(sprintf("%s: Terraform gave no value for %s (set %s); nothing was changed", origin, key, set))
  if (!valid(fam, net, value[key])) fail(sprintf("%s: %s = %s is not a valid %s (set %s); nothing was changed", origin, key, value[key], what, set))
  if (!((set SUBSEP value[key]) in seen)) { seen[set SUBSEP value[key]] = 1; print set " " value[key] }
}
END { if (err) exit 1 }
