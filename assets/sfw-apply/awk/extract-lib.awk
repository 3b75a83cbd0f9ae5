/^\*/ { t = substr($0, 2); print; next }
/^COMMIT/ { print; next }
/^:/ {
  c = substr($1, 2)
  if ($2 != "-") { print $1 " " $2 " [0:0]"; bi[t, c] = 1 }
  else if (isdu(t, c)) bi[t, c] = 1
  else if (issfw(c)) print $1 " - [0:0]"
  next
}
/^-A / {
  if (issfw($2)) { print; next }
  if (((t, $2) in bi) && issfw(tgt($0))) {
    # DOCKER-USER is declared only where the library hooks it (read by gen-tx, which creates it if missing)
    if (isdu(t, $2) && !((t) in du)) { du[t] = 1; print ":" $2 " - [0:0]" }
    print
  }
}
