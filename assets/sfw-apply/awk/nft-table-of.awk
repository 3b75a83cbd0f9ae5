{ sub(/^[ \t]+/, "") }
$1 == "table" {
  if ($2 != "inet") exit 1
  n = $3; sub(/[{;].*$/, "", n); print n; found = 1; exit 0
}
END { if (!found) exit 1 }
