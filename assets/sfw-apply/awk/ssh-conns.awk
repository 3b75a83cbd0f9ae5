{
  l = $(NF - 1); r = $NF
  lp = l; sub(/.*:/, "", lp)
  rp = r; sub(/.*:/, "", rp)
  ra = r; sub(/:[0-9]+$/, "", ra); gsub(/^\[|\]$/, "", ra); sub(/^::ffff:/, "", ra)
  if (lp == p && ra == c) print rp
}
