/^[ \t]*\[/ { s = ($0 ~ /^[ \t]*\[Install\][ \t]*$/); next }
s && /^(WantedBy|RequiredBy)[ \t]*=/ {
  k = ($0 ~ /^W/) ? "wants" : "requires"
  v = $0; sub(/^[^=]*=/, "", v)
  n = split(v, a, /[ \t]+/)
  for (i = 1; i <= n; i++) if (a[i] != "") print a[i] "." k
}
