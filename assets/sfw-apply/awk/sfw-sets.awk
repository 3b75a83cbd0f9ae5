$1 == "create" && $2 ~ /^sfw-/ { sub(/ initval 0x[0-9a-f]+/, ""); print; next }
$1 == "add" && $2 ~ /^sfw-/ { gsub(/ (timeout|packets|bytes) [0-9]+/, ""); print }
