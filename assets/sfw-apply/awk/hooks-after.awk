/^\*/ { t = substr($0, 2); next }
t == "filter" && $1 == "-A" && !isdu(t, $2) {
  if (issfw($2)) next
  if (issfw(tgt($0))) { hooked[$2] = 1; after[$2] = 0; if (!($2 in seen)) { seen[$2] = 1; o[++n] = $2 } }
  else if ($2 in hooked) after[$2]++
}
END { for (i = 1; i <= n; i++) if (after[o[i]] > 0) print o[i], after[o[i]] }
