/^\*/ { t = substr($0, 2); next }
/^:SFW-/ { print t " " $1; next }
/^-A / { if (issfw($2) || issfw(tgt($0))) print t " " $0 }
