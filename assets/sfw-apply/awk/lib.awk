function tgt(line,   n, a, i) {
  n = split(line, a, /[ \t]+/)
  for (i = 1; i < n; i++) if (a[i] == "-j" || a[i] == "-g") return a[i + 1]
  return ""
}
function issfw(name) { return substr(name, 1, 4) == "SFW-" }
# isdu(T, C): the DOCKER-USER chain of Docker (filter), where the library hooks its chain
# for published container ports; created as Docker would when missing, never flushed
function isdu(t, c) { return t == "filter" && c == "DOCKER-USER" }
